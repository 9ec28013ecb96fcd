import Postgres
import Server

/// The console's "Dossier freshness" section: the share of health scores newer than the stale
/// threshold, and the newest score (`api.dossier_freshness`, readable by every console reader).
struct FreshnessHealth: ConsoleHealth {
    let title = "Dossier freshness"

    func figures(database: RequestDatabase) async throws -> [ConsoleFigure] {
        let row = try await database.query("""
            select round((f ->> 'freshness_rate')::numeric * 100, 1)::text, f ->> 'stale_after', (f ->> 'dossiers'),
                   coalesce(to_char((f ->> 'last_scored_at')::timestamptz at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC', 'never')
            from api.dossier_freshness() f
            """)[0]
        let (rate, staleAfter, dossiers, lastScored) = try row.decode(String.self, String.self, String.self, String.self)
        return [
            ConsoleFigure(label: "Fresh scores (newer than \(staleAfter))", value: "\(rate) % of \(dossiers) dossiers"),
            ConsoleFigure(label: "Newest score", value: lastScored),
        ]
    }
}
