import Foundation

/// A progress line on a terminal (`done/total (n%)`, redrawn in place), only when stdout is a terminal and there
/// is much to do; silent otherwise so that pipes and files get plain output.
final class ProgressLine: Sendable {
    static let threshold = 1_000
    private let enabled: Bool

    init(total: Int) {
        enabled = total >= Self.threshold && isatty(1) == 1
    }

    func update(_ done: Int, _ total: Int) {
        guard enabled, total > 0 else { return }
        FileHandle.standardOutput.write(Data("\r\(done)/\(total) (\(done * 100 / total)%)".utf8))
    }

    func finish() {
        if enabled { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }
}
