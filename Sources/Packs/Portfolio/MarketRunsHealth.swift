import Postgres
import Server

/// The console's "Portfolio markets" section: each market's next scoring run and the open it
/// prepares (`api.portfolio_market_runs`, readable by every console reader).
struct MarketRunsHealth: ConsoleHealth {
    let title = "Portfolio markets"

    func figures(database: RequestDatabase) async throws -> [ConsoleFigure] {
        try await database.query("""
            select m ->> 'market',
                   to_char((m ->> 'next_run_at')::timestamptz at time zone 'UTC', 'YYYY-MM-DD HH24:MI'),
                   to_char((m ->> 'opens_at')::timestamptz at time zone 'UTC', 'HH24:MI'), m ->> 'time_zone'
            from jsonb_array_elements(api.portfolio_market_runs()) m
            """).map { row in
            let (market, runAt, opensAt, zone) = try row.decode(String.self, String.self, String.self, String.self)
            return ConsoleFigure(label: "Next \(market) run", value: "\(runAt) UTC (opens \(opensAt) UTC, \(zone))")
        }
    }
}
