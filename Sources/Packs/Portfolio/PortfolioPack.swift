import Config
import Engine
import HTTPClient

/// The portfolio pack's jobs: the overnight scoring of an investment planner and the cache
/// warming that follows it. Scoring, recommendations and the audit log are SQL in schema
/// `portfolio`; these are the schedule, the provider calls, the steps and the telemetry.
public enum PortfolioPack {
    public static func functions(config: NightshiftConfig, http: HTTPClient) -> [NightshiftFunction] {
        let settings = ScoringSettings(ratesBase: config.portfolio.ratesBase, usersPerBatch: config.portfolio.usersPerBatch)
        return [
            OvernightScoring.function(providers: MarketData(settings: config.portfolio, http: http), settings: settings),
            CacheWarmer.function,
        ]
    }
}

/// What the scoring job takes from config besides the providers.
struct ScoringSettings: Sendable {
    var ratesBase: String
    var usersPerBatch: Int
}
