import Engine
import Foundation
import Postgres
import Tracing

/// `portfolio/cache-warmer`: on `portfolio/scoring.completed`, writes `recs:<userId>` and
/// `portfolio:<userId>` for every user the run scored, with a 24-hour TTL, a page of users per
/// checkpointed step (a resumed run goes on after the last finished page), then sweeps the
/// expired keys. Writing a key again is harmless: a replayed page overwrites what it wrote.
/// Signals: the span `cache-warmer-job` (`cache_warm_ms`, `users_warmed`, `keys_written`), the
/// events `portfolio/warming.started` and `portfolio/warming.completed` (with the figures), and
/// the figures merged into the scoring run's `overnight_job_runs.metrics`.
enum CacheWarmer {
    static let id = "portfolio/cache-warmer"
    static let startedEvent = "portfolio/warming.started"
    static let completedEvent = "portfolio/warming.completed"
    static let usersPerPage = 1000
    static let timeToLive = "24 hours"

    struct Page: Codable, Sendable {
        var users: Int
        var lastUserId: UUID?
        /// How long the page took (optional: checkpoints written before it have none).
        var milliseconds: Int?
    }

    /// What `portfolio/warming.started` carries.
    struct Started: Codable, Sendable {
        var jobRunId: UUID
        var correlationId: UUID
        var usersToWarm: Int
    }

    struct Summary: Codable, Sendable {
        var jobRunId: UUID
        var correlationId: UUID?
        var usersWarmed: Int
        var keysWritten: Int
        var expiredKeysSwept: Int
        var cacheWarmMs: Int?
    }

    static let function = NightshiftFunction(
        id: id, triggers: [.event(OvernightScoring.completedEvent)], retries: 3,
        // One warm-up per scoring run; a second event for the same run waits for the first.
        concurrency: .limit(1, key: "jobRunId"), timeout: .seconds(3600), payload: OvernightScoring.Completed.self
    ) { event, run in
        try await withSpan("cache-warmer-job") { span in
            let summary = try await warm(event, run: run)
            span.attributes["cache_warm_ms"] = summary.cacheWarmMs ?? 0
            span.attributes["users_warmed"] = summary.usersWarmed
            span.attributes["keys_written"] = summary.keysWritten
            span.attributes["correlation_id"] = event.correlationId.lowercasedString
            return summary
        }
    }

    private static func warm(_ event: OvernightScoring.Completed, run: RunContext) async throws -> Summary {
        let database = run.database
        let jobRunID = event.jobRunId
        var logger = run.logger
        logger[metadataKey: "correlation_id"] = "\(event.correlationId.lowercasedString)"
        logger[metadataKey: "job_run_id"] = "\(jobRunID.lowercasedString)"
        logger.info("cache warming started", metadata: ["users_to_warm": "\(event.usersSuccess)"])
        _ = try await run.step.sendEvent(
            startedEvent, Started(jobRunId: jobRunID, correlationId: event.correlationId, usersToWarm: event.usersSuccess))
        var warmed = 0
        var milliseconds = 0
        var after: UUID? = nil
        while true {
            let cursor = after
            let page: Page = try await run.step.run("warm-page") {
                let clock = ContinuousClock()
                let started = clock.now
                let row = try await database.query("""
                    select users, last_user_id from portfolio.warm_cache(
                        \(jobRunID), \(timeToLive)::interval, \(cursor), \(usersPerPage)::int)
                    """)[0]
                return Page(
                    users: try row.decode(Int.self, at: 0), lastUserId: try row.decode(UUID?.self, at: 1),
                    milliseconds: (clock.now - started).wholeMilliseconds)
            }
            warmed += page.users
            milliseconds += page.milliseconds ?? 0
            guard page.users == usersPerPage, let last = page.lastUserId else { break }
            after = last
        }
        let swept: Int = try await run.step.run("sweep") {
            try await database.query("select cache.sweep()")[0].decode(Int.self, at: 0)
        }
        let summary = Summary(
            jobRunId: jobRunID, correlationId: event.correlationId, usersWarmed: warmed, keysWritten: 2 * warmed,
            expiredKeysSwept: swept, cacheWarmMs: milliseconds)
        let figures: JSONValue = .object([
            "cache_warm_ms": .number(Decimal(milliseconds)), "users_warmed": .number(Decimal(warmed)),
            "keys_written": .number(Decimal(2 * warmed)), "expired_keys_swept": .number(Decimal(swept)),
        ])
        let figuresJSON = String(decoding: try JSONEncoder().encode(figures), as: UTF8.self)
        let _: Bool = try await run.step.run("record-figures") {
            _ = try await database.execute("select portfolio.record_cache_warm(\(jobRunID), \(figuresJSON)::jsonb)")
            return true
        }
        _ = try await run.step.sendEvent(completedEvent, summary)
        logger.info("portfolio cache warmed", metadata: [
            "users_warmed": "\(warmed)", "keys_written": "\(2 * warmed)", "swept": "\(swept)", "cache_warm_ms": "\(milliseconds)",
        ])
        return summary
    }
}
