import Engine
import Foundation

/// `portfolio/market-scheduler`: every 5 minutes (in the engine's own scheduler, UTC), the
/// markets whose scoring run falls in the slot (`portfolio.market_runs`: local open time − lead
/// time, in the market's zone, on its trading days) each get one `portfolio/overnight-scoring`
/// run, through the event `portfolio/market.due` `{"market", "runAt"}`; that run scores
/// `portfolio.market_users` (a user with several markets at the first of them). Missed slots
/// (the workers were down) are caught up, up to a day of them, so a late run beats none.
/// Declared disabled when `OVERNIGHT_JOB_CRON` (or a `[jobs."portfolio/overnight-scoring"]`
/// cron) gives the scoring its own global schedule.
enum MarketScheduler {
    static let id = "portfolio/market-scheduler"
    static let dueEvent = "portfolio/market.due"
    static let slot: Duration = .seconds(300)

    /// What `portfolio/market.due` carries (the overnight scoring's payload).
    struct Due: Codable, Sendable {
        var market: String
        /// ISO 8601 in UTC (a string: payloads are decoded without a date strategy).
        var runAt: String
    }

    struct Summary: Codable, Sendable {
        var slot: Date
        var dispatched: [Due]
    }

    static func function(enabled: Bool) -> NightshiftFunction {
        NightshiftFunction(
            id: id, triggers: [.cron("*/5 * * * *")], retries: 3, backoff: .exponential(base: .seconds(5)),
            concurrency: .singleton, timeout: .seconds(60), catchUp: .all(cap: 288), enabled: enabled, payload: NoPayload.self
        ) { _, run in
            // A manual run (no slot) looks at the five minutes before now.
            let slot: Date
            if case .cron(let at) = run.trigger { slot = at } else { slot = Date() }
            let database = run.database
            // (slot - 5 min, slot]: a run due exactly on a slot is sent by that slot.
            let from = slot.addingTimeInterval(-300 + 0.000_001)
            let to = slot.addingTimeInterval(0.000_001)
            let due: [Due] = try await run.step.run("due-runs") {
                try await database.query("""
                    select market_code, to_char(run_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                    from portfolio.market_runs(\(from), \(to)) order by run_at, market_code
                    """).map { Due(market: try $0.decode(String.self, at: 0), runAt: try $0.decode(String.self, at: 1)) }
            }
            for item in due {
                _ = try await run.step.sendEvent(dueEvent, item)
                run.logger.info("market scoring run due", metadata: ["market": "\(item.market)", "run_at": "\(item.runAt)"])
            }
            return Summary(slot: slot, dispatched: due)
        }
    }
}
