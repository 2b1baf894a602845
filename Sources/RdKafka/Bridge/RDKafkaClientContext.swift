import CRdKafka
import Logging
import Synchronization

/// What librdkafka's callbacks need: passed to librdkafka as the handle's opaque pointer.
///
/// Callbacks run on librdkafka's threads (logs) or on whichever thread polls (errors, delivery reports);
/// they copy what they need into this locked state and return at once.
final class RDKafkaClientContext: Sendable {
    struct DeliveryTally: Sendable {
        var failed = 0
        var firstError: KafkaError?
    }

    private struct State: Sendable {
        var lastBrokerError: String?
        var delivery = DeliveryTally()
    }

    let logger: Logger
    private let state = Mutex(State())

    init(logger: Logger) {
        self.logger = logger
    }

    /// The most recent client-level error librdkafka reported (a refused connection, a failed resolve, ...).
    var lastBrokerError: String? { state.withLock { $0.lastBrokerError } }

    func recordBrokerError(_ text: String) {
        state.withLock { $0.lastBrokerError = text }
    }

    func recordDelivery(failure: KafkaError) {
        state.withLock { state in
            state.delivery.failed += 1
            if state.delivery.firstError == nil { state.delivery.firstError = failure }
        }
    }

    /// Returns the delivery failures seen since the last call and starts counting afresh.
    func takeDeliveryTally() -> DeliveryTally {
        state.withLock { state in
            defer { state.delivery = DeliveryTally() }
            return state.delivery
        }
    }

    /// Recovers the context from the opaque pointer librdkafka hands back to callbacks.
    static func from(_ handle: OpaquePointer?) -> RDKafkaClientContext? {
        guard let handle, let opaque = rd_kafka_opaque(handle) else { return nil }
        return Unmanaged<RDKafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}
