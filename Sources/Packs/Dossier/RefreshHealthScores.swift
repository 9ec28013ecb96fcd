import Config
import Engine
import Foundation
import Metrics
import Postgres

/// `dossier/refresh-health-scores`: refreshes both statistics views (concurrently, so readers
/// never wait), recomputes every stale score in one statement (drops below 60 notify the
/// owner, in SQL), and records the freshness rate: the share of scores younger than the
/// staleness threshold, which should stay at or above 95 %.
enum RefreshHealthScores {
    static let id = "dossier/refresh-health-scores"
    static let freshnessTarget = Decimal(string: "0.95")!

    struct Output: Codable, Sendable {
        var views: [JSONValue]
        var recalculation: JSONValue
        var freshnessRate: Decimal
        var freshnessTargetMet: Bool
    }

    /// The `N` of a `*/N * * * *` schedule (HEALTH_REFRESH_INTERVAL_MINUTES), 60 for an hourly
    /// `M * * * *`, else 15.
    static func intervalMinutes(_ config: NightshiftConfig) -> Int {
        let fields = (config.jobs[id]?.cron ?? "*/15 * * * *").split(separator: " ")
        guard fields.count == 5, fields[1...].allSatisfy({ $0 == "*" }) else { return 15 }
        if fields[0].hasPrefix("*/"), let minutes = Int(fields[0].dropFirst(2)), minutes > 0 { return minutes }
        return Int(fields[0]) != nil ? 60 : 15
    }

    static func function(intervalMinutes: Int, timeZone: String = DossierSettings().timeZone) -> NightshiftFunction {
        NightshiftFunction(
            id: id, triggers: [.cron("*/15 * * * *")], retries: 3, concurrency: .singleton, timeout: .seconds(600),
            payload: NoPayload.self
        ) { _, run in
            let database = run.database
            // The most frequent of the pack's runs: a changed `[dossier] timezone` reaches the
            // database (and the edge functions' "today") within one interval of a restart.
            try await DossierSettings.configure(timeZone, database: database)
            let views: [JSONValue] = try await run.step.run("refresh-views") {
                // Two connections at once: the views are independent.
                async let engagement = database.query("select dossier.refresh_engagement_stats()::text")
                async let commitment = database.query("select dossier.refresh_commitment_stats()::text")
                return try await [engagement, commitment].map { try JSONValue(json: $0[0].decode(String.self, at: 0)) }
            }
            // A score due to go stale before the next run is recomputed now, so that every
            // score stays younger than the threshold between runs.
            let recalculation: JSONValue = try await run.step.run("recalculate-stale") {
                try JSONValue(json: try await database.query("""
                    select dossier.recalculate_stale_scores(
                        greatest(interval '0', (select stale_after from dossier.settings) - make_interval(mins => \(intervalMinutes)::int)))::text
                    """)[0].decode(String.self, at: 0))
            }
            let rate: Decimal = try await run.step.run("freshness") {
                try await database.query("select dossier.freshness_rate()")[0].decode(Decimal.self, at: 0)
            }
            Gauge(label: "nightshift_dossier_health_freshness_ratio").record(NSDecimalNumber(decimal: rate).doubleValue)
            if rate < freshnessTarget {
                run.logger.warning("health score freshness below target", metadata: ["rate": "\(rate)", "target": "\(freshnessTarget)"])
            }
            return Output(views: views, recalculation: recalculation, freshnessRate: rate, freshnessTargetMet: rate >= freshnessTarget)
        }
    }
}
