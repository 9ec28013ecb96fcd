import Engine
import Foundation
import Postgres

/// `portfolio/cache-warmer`: on `portfolio/scoring.completed`, writes `recs:<userId>` and
/// `portfolio:<userId>` for every user the run scored, with a 24-hour TTL, a page of users per
/// checkpointed step (a resumed run goes on after the last finished page), then sweeps the
/// expired keys. Writing a key again is harmless: a replayed page overwrites what it wrote.
enum CacheWarmer {
    static let id = "portfolio/cache-warmer"
    static let usersPerPage = 1000
    static let timeToLive = "24 hours"

    struct Page: Codable, Sendable {
        var users: Int
        var lastUserId: UUID?
    }

    struct Summary: Codable, Sendable {
        var jobRunId: UUID
        var usersWarmed: Int
        var keysWritten: Int
        var expiredKeysSwept: Int
    }

    static let function = NightshiftFunction(
        id: id, triggers: [.event(OvernightScoring.completedEvent)], retries: 3,
        // One warm-up per scoring run; a second event for the same run waits for the first.
        concurrency: .limit(1, key: "jobRunId"), timeout: .seconds(3600), payload: OvernightScoring.Completed.self
    ) { event, run in
        let database = run.database
        let jobRunID = event.jobRunId
        var warmed = 0
        var after: UUID? = nil
        while true {
            let cursor = after
            let page: Page = try await run.step.run("warm-page") {
                let row = try await database.query("""
                    select users, last_user_id from portfolio.warm_cache(
                        \(jobRunID), \(timeToLive)::interval, \(cursor), \(usersPerPage)::int)
                    """)[0]
                return Page(users: try row.decode(Int.self, at: 0), lastUserId: try row.decode(UUID?.self, at: 1))
            }
            warmed += page.users
            guard page.users == usersPerPage, let last = page.lastUserId else { break }
            after = last
        }
        let swept: Int = try await run.step.run("sweep") {
            try await database.query("select cache.sweep()")[0].decode(Int.self, at: 0)
        }
        run.logger.info("portfolio cache warmed", metadata: ["users": "\(warmed)", "swept": "\(swept)"])
        return Summary(jobRunId: jobRunID, usersWarmed: warmed, keysWritten: 2 * warmed, expiredKeysSwept: swept)
    }
}
