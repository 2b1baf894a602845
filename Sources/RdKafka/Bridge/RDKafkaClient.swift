import BlockingCalls
import CRdKafka
import Foundation
import Logging
import Synchronization

/// Owns one `rd_kafka_t` and the context its callbacks use.
///
/// librdkafka's handle is thread-safe; this type only adds the once-only destruction.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind {
        case producer
        case consumer
    }

    // The context must outlive the C handle: librdkafka calls back with it until rd_kafka_destroy returns.
    // `destroy()` (or the thread started by deinit) destroys the handle first and only then lets go of it.
    let context: RDKafkaClientContext
    let handle: OpaquePointer
    private let destroyed = Mutex(false)

    private init(handle: OpaquePointer, context: RDKafkaClientContext) {
        self.handle = handle
        self.context = context
    }

    /// Creates a handle from properties applied in order: `defaults`, the user's configuration, `enforced`.
    ///
    /// `configure` may install more callbacks on the configuration before the handle is created.
    static func make(
        kind: Kind, configuration: KafkaConfiguration, defaults: [String: String] = [:],
        enforced: [String: String] = [:], logger: Logger,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) -> RDKafkaClient {
        var properties = defaults
        for (key, value) in configuration.properties {
            if let kept = enforced[key], kept != value {
                logger.info(
                    "ignoring a librdkafka property this client enforces",
                    metadata: [LogKey.property: "\(key)", LogKey.enforced: "\(kept)"])
                continue
            }
            properties[key] = value
        }
        properties["bootstrap.servers"] = configuration.bootstrapServers
        properties.merge(enforced) { _, enforced in enforced }

        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .invalidConfiguration, message: "rd_kafka_conf_new failed")
        }
        // Sorted so that the first error reported for several bad properties is always the same one.
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            var failure: String?
            let result = withErrorBuffer { buffer, size in
                rd_kafka_conf_set(conf, key, value, buffer, size)
            } onError: { failure = $0 }
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(
                    code: .invalidConfiguration,
                    message: "librdkafka property \"\(key)\" rejected: \(failure ?? "unknown reason")")
            }
        }

        let context = RDKafkaClientContext(logger: logger)
        // Unretained: `RDKafkaClient.context` keeps the object alive for as long as the handle exists.
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_log_cb(conf, rdKafkaLogCallback)
        rd_kafka_conf_set_error_cb(conf, rdKafkaErrorCallback)
        configure(conf)

        var failure: String?
        let created = withErrorBuffer { buffer, size in
            rd_kafka_new(kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf, buffer, size)
        } onError: { failure = $0 }
        guard let handle = created else {
            // On failure the configuration still belongs to us.
            rd_kafka_conf_destroy(conf)
            throw KafkaError(
                code: .invalidConfiguration, message: "librdkafka refused the configuration: \(failure ?? "unknown")")
        }
        return withExtendedLifetime(context) { RDKafkaClient(handle: handle, context: context) }
    }

    /// `true` once `destroy()` ran or started.
    var isDestroyed: Bool { destroyed.withLock { $0 } }

    /// Destroys the handle; blocks until librdkafka's threads ended. Idempotent. Never call on the pool.
    func destroy() {
        let first = destroyed.withLock { wasDestroyed in
            defer { wasDestroyed = true }
            return !wasDestroyed
        }
        if first {
            rd_kafka_destroy(handle)
        }
    }

    deinit {
        guard !isDestroyed else { return }
        // rd_kafka_destroy blocks: do it on a thread of its own, which keeps the context alive until then.
        let leftover = Leftover(handle: handle, context: context)
        Thread.detachNewThread {
            rd_kafka_destroy(leftover.handle)
            withExtendedLifetime(leftover.context) {}
        }
    }

    private struct Leftover: @unchecked Sendable {
        let handle: OpaquePointer
        let context: RDKafkaClientContext
    }
}

/// Calls `body` with a 512-byte error buffer as librdkafka's `errstr, errstr_size` pair and reports the text
/// left in it when the buffer is not empty afterwards.
func withErrorBuffer<Result>(
    _ body: (UnsafeMutablePointer<CChar>, Int) -> Result, onError: (String) -> Void
) -> Result {
    let size = 512
    let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
    defer { buffer.deallocate() }
    buffer.initialize(repeating: 0, count: size)
    let result = body(buffer, size)
    if buffer[0] != 0 {
        onError(String(cString: buffer))
    }
    return result
}

extension RDKafkaClient {
    /// The handle's value of an integer property (what was set, or librdkafka's default); nil if unknown.
    func integerProperty(_ name: String) -> Int? {
        var buffer = [CChar](repeating: 0, count: 64)
        var size = buffer.count
        guard rd_kafka_conf_get(rd_kafka_conf(handle), name, &buffer, &size) == RD_KAFKA_CONF_OK else { return nil }
        return Int(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}

/// Routes librdkafka's log lines into the client's Logger (at info or quieter, as a library should).
private func rdKafkaLogCallback(
    handle: OpaquePointer?, level: Int32, facility: UnsafePointer<CChar>?, text: UnsafePointer<CChar>?
) {
    guard let context = RDKafkaClientContext.from(handle), let text else { return }
    // syslog levels: 0-5 emergency..notice, 6 info, 7 debug.
    let swiftLevel: Logger.Level = level <= 5 ? .info : .debug
    context.logger.log(
        level: swiftLevel, "\(String(cString: text))",
        metadata: [LogKey.rdkafkaFacility: "\(facility.map { String(cString: $0) } ?? "")", LogKey.rdkafkaLevel: "\(level)"])
}

/// Remembers the last client-level error so a later timeout can say why (e.g. "Connection refused").
private func rdKafkaErrorCallback(
    handle: OpaquePointer?, error: Int32, reason: UnsafePointer<CChar>?, opaque: UnsafeMutableRawPointer?
) {
    guard let opaque else { return }
    let context = Unmanaged<RDKafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
    let text = reason.map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(error)))
    context.recordBrokerError(text)
}
