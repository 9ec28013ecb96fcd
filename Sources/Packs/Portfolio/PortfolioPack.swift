import Config
import Engine
import Migrations
import NightshiftKit
import NightshiftSQL
import Server

/// The portfolio pack: the overnight scoring of an investment planner, the cache warming that
/// follows it, and the planner's reads (dashboard, audit) and criteria writes. Scoring,
/// recommendations and the audit log are SQL in schema `portfolio`; these are the schedule, the
/// provider calls, the steps, the telemetry and the routes.
public struct PortfolioPack: Pack {
    public let name = "portfolio"

    public init() {}

    /// Schema `portfolio`: its files in sql/migrations/portfolio/, bundled in NightshiftSQL.
    public func migrations() throws -> MigrationSet? { try NightshiftSQL.migrations(name) }

    /// The console's overview: each market's next scoring run, and when each of the pack's jobs
    /// last ran and how it ended.
    public var consoleHealth: [any ConsoleHealth] {
        [MarketRunsHealth(), LastRunsHealth(title: "Portfolio", functionIDs: [OvernightScoring.id, CacheWarmer.id])]
    }

    public var configSections: [any ConfigSection.Type] { [PortfolioSettings.self] }

    public func functions(_ context: PackContext) throws -> [NightshiftFunction] {
        let portfolio = context.config.section(PortfolioSettings.self)
        let settings = ScoringSettings(ratesBase: portfolio.ratesBase, usersPerBatch: portfolio.usersPerBatch)
        // OVERNIGHT_JOB_CRON (or a [jobs] cron) is one global run: the per-market runs stand down.
        let globalSchedule = context.config.jobs[OvernightScoring.id]?.cron != nil
        return [
            OvernightScoring.function(providers: MarketData(settings: portfolio, http: context.http), settings: settings),
            CacheWarmer.function,
            MarketScheduler.function(enabled: !globalSchedule),
        ]
    }

    public var routes: [any APIRoutes] { [PortfolioRoutes()] }
}

/// What the scoring job takes from config besides the providers.
struct ScoringSettings: Sendable {
    var ratesBase: String
    var usersPerBatch: Int
}
