import ZKOffsets

/// Applies a changing command's operations (deletes, creates, writes, each conditional on what its plan read) in
/// `multi` transactions below the size limit, in order, and turns "changed since the plan was read" into a refusal.
enum ConditionalTransactions {
    /// What `apply` did.
    struct Outcome: Sendable, Equatable {
        /// Transactions applied.
        var transactions = 0
        /// Operations applied.
        var operations = 0
    }

    /// Applies `operations` in order; operations that must go together (a parent created before its children, a
    /// child deleted before its parent) keep their order across transactions. The first transaction that fails
    /// because a znode changed since the plan (bad version, created, deleted, got a child) throws an
    /// `OperationRefusal` that says how much was applied before it; nothing of that transaction is applied.
    static func apply(
        _ operations: [ZooKeeperOperation], client: ZooKeeperClient,
        maxTransactionBytes: Int = TransactionBudget.defaultMaxBytes, what: String
    ) async throws -> Outcome {
        var outcome = Outcome()
        let chunks = TransactionBudget.chunks(operations, maxBytes: maxTransactionBytes) { $0.estimatedRequestSize }
        for chunk in chunks {
            do {
                try await client.multi(chunk)
            } catch {
                guard [.badVersion, .nodeExists, .noNode, .notEmpty].contains(error.code) else { throw error }
                throw OperationRefusal(
                    "znode \(error.path ?? "?") changed since the plan was read (\(error.code)); nothing of this "
                        + "transaction was applied"
                        + (outcome.transactions > 0
                            ? " (\(outcome.transactions) of \(chunks.count) transactions of \(what) were applied "
                                + "before it)"
                            : "")
                        + ": read the plan again")
            }
            outcome.transactions += 1
            outcome.operations += chunk.count
        }
        return outcome
    }
}
