import Logging
import Postgres

/// Start-up's patience with a database that does not answer yet (a compose file, a host
/// booting, a failover): `probe` is retried with backoff from 0.25 s to 5 s, each failure
/// logged, until it succeeds or `limit` has passed. A login the server rejects, and any error
/// waiting cannot fix, ends it at once.
struct DatabaseWait {
    let limit: Duration
    let logger: Logger

    func until(_ probe: () async throws -> Void) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        var delay = Duration.milliseconds(250)
        var attempts = 1
        while true {
            do {
                try await probe()
                if attempts > 1 {
                    logger.notice("database reachable", metadata: ["attempts": "\(attempts)", "waited_ms": "\(milliseconds(clock.now - start))"])
                }
                return
            } catch let error as PostgresError where error.isTransient && !error.isLoginRejected {
                let remaining = limit - (clock.now - start)
                guard remaining > .zero else { throw DatabaseUnreachable(limit: limit, attempts: attempts, error: error) }
                let pause = min(delay, remaining)
                logger.warning("database not reachable yet; waiting for it", metadata: [
                    "error": "\(error.message)", "attempt": "\(attempts)", "retry_in_ms": "\(milliseconds(pause))",
                    "gives_up_in_ms": "\(milliseconds(remaining))",
                ])
                try await Task.sleep(for: pause)
                delay = min(delay * 2, .seconds(5))
                attempts += 1
            }
        }
    }

    /// Start-up gave up on the database: printed as the process's last line (exit status 1).
    struct DatabaseUnreachable: Error, CustomStringConvertible {
        let limit: Duration
        let attempts: Int
        let error: PostgresError

        var description: String {
            "the database did not answer within --wait-for-database \(limit.components.seconds) s "
                + "(\(attempts) attempt\(attempts == 1 ? "" : "s")): \(error.message)"
        }
    }
}

/// A duration in whole milliseconds (log fields, SQL intervals).
func milliseconds(_ duration: Duration) -> Int64 {
    duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
}
