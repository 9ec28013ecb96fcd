import Logging
import Postgres
import Synchronization

/// Writes the dispatcher's successes to the database many at a time: while one
/// `notify.complete_deliveries` call is out, the webhooks finishing meanwhile wait for the next,
/// so under load one statement (and one commit) records a whole group, and alone a success is
/// written at once. Failures are not batched: `fail_delivery` decides each one's retry.
final class SuccessRecorder: Sendable {
    struct Success: Sendable {
        let id: Int64
        let status: Int
        let channel: String
        let duration: Duration
    }

    private let database: PostgresPool
    private let logger: Logger
    private let metrics: NotificationMetrics
    private let pending = Mutex<[Success]>([])
    private let signals: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation

    init(database: PostgresPool, logger: Logger, metrics: NotificationMetrics) {
        self.database = database
        self.logger = logger
        self.metrics = metrics
        (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// A webhook answered 2xx: its delivery is recorded with the next write.
    func record(_ success: Success) {
        pending.withLock { $0.append(success) }
        signal.yield()
    }

    /// Writes until `finish()`, then what is left, and returns.
    func run() async {
        for await _ in signals { await write() }
        await write()
    }

    /// No more successes will come (every send has ended): `run` writes the last and returns.
    func finish() {
        signal.finish()
    }

    private func write() async {
        let group = pending.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !group.isEmpty else { return }
        do {
            do {
                try await database.query(
                    "select notify.complete_deliveries(\(group.map(\.id))::bigint[], \(group.map(\.status))::integer[])")
            } catch let error as PostgresError where error.sqlState == "NSN01" {
                // A delivery vanished in flight (its notification was pruned): the group is
                // refused whole, so the others are recorded one by one and the gone one skipped.
                for success in group {
                    do {
                        try await database.query("select notify.complete_delivery(\(success.id), \(success.status)::integer)")
                    } catch let error as PostgresError where error.sqlState == "NSN01" {
                        logger.warning("a delivered webhook's delivery no longer exists", metadata: ["delivery_id": "\(success.id)"])
                    }
                }
            }
            for success in group {
                metrics.attemptFinished(channel: success.channel, outcome: "delivered", duration: success.duration)
            }
            logger.debug("deliveries recorded", metadata: ["delivered": "\(group.count)"])
        } catch {
            // The outcomes are lost, not the deliveries: their leases expire and they are sent
            // again (receivers drop the repeats by their Idempotency-Key).
            logger.error("recording delivered webhooks failed", metadata: ["error": "\(error)", "deliveries": "\(group.count)"])
        }
    }
}
