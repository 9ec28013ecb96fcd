import Foundation
import Logging
import Postgres
import ServiceLifecycle

/// Calls `nightshift.tick()` every second, so cron slots are enqueued with second-level
/// precision; pg_cron, when installed, calls it every minute as well. Both are safe at once:
/// the database enqueues each slot exactly once.
public struct Ticker: Service {
    let database: PostgresPool
    let interval: Duration
    let logger: Logger
    let metrics = EngineMetrics()

    /// Ticks through `database` every `interval` (1 s by default: cron slots and sub-minute
    /// schedules fire within a second of their instant).
    public init(database: PostgresPool, interval: Duration = .seconds(1), logger: Logger) {
        self.database = database
        self.interval = interval
        self.logger = logger
    }

    /// Registers the tick with pg_cron where the login may (else the owner's `migrate` did), then
    /// ticks on every whole `interval` until graceful shutdown. It does not throw: a failed tick
    /// is logged, and the next one does its work (each slot is enqueued once, whoever ticks).
    public func run() async throws {
        await registerWithPgCron()
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        var ticks = 0
        while !Task.isCancelled {
            do {
                let enqueued = try await database.query("select nightshift.tick()")[0].decode(Int.self, at: 0)
                if enqueued > 0 { logger.info("cron slots enqueued", metadata: ["runs": "\(enqueued)"]) }
                ticks += 1
                if ticks % 5 == 0 { try await recordQueueDepth() }
            } catch {
                logger.warning("tick failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(until: Self.nextBoundary(after: .now, interval: interval), clock: .continuous)
        }
    }

    /// The next multiple of `interval` on the wall clock (`1 second` schedules fire on whole
    /// seconds), as an instant of the continuous clock; sleeping a fixed interval after each
    /// tick would drift by the tick's own duration and now and then skip a slot.
    static func nextBoundary(after now: ContinuousClock.Instant, interval: Duration) -> ContinuousClock.Instant {
        let period = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        let wall = Date().timeIntervalSince1970
        // A few milliseconds past the boundary: the database's clock must have reached it too.
        let wait = period - wall.truncatingRemainder(dividingBy: period) + 0.005
        return now + .milliseconds(Int64(wait * 1000))
    }

    /// Registers the minute tick with pg_cron when it is there; never fatal.
    private func registerWithPgCron() async {
        do {
            let outcome = try await database.query("select nightshift.install_pg_cron()")[0].decode(String.self, at: 0)
            logger.info("pg_cron tick", metadata: ["status": "\(outcome)"])
        } catch let error as PostgresError where error.sqlState == "42501" {
            // A least-privilege login (nightshift_app) may not: `nightshift migrate`, as the
            // owner, registers the tick wherever pg_cron is available.
            logger.info("pg_cron tick left to the owner", metadata: ["reason": "the login may not call nightshift.install_pg_cron"])
        } catch {
            logger.notice("pg_cron tick not registered", metadata: ["error": "\(error)"])
        }
    }

    private func recordQueueDepth() async throws {
        for row in try await database.query("select function_id, queued, running, retired_queued from nightshift.queue_depth") {
            let (function, queued, running, retired) = try row.decode(String.self, Int.self, Int.self, Int.self)
            metrics.queueDepth(functionID: function, queued: queued, running: running, retired: retired)
        }
    }
}
