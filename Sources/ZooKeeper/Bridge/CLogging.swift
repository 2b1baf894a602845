import CZooKeeper
import Logging

/// Routes the C client's log lines to swift-log instead of stderr, at warning level and above: the C client
/// logs every failed connect attempt, which is noise for a CLI and belongs in the application's log.
enum CLogging {
    static let logger = Logger(label: "zookeeper.c")

    private static let configured: Bool = {
        zoo_set_debug_level(ZOO_LOG_LEVEL_WARN)
        return true
    }()

    static func configureOnce() {
        _ = configured
    }
}

func onCLog(_ message: UnsafePointer<CChar>?) {
    guard let message else { return }
    CLogging.logger.debug("\(String(cString: message))")
}
