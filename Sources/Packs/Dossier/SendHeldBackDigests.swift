import Config
import Engine
import Foundation
import Postgres

/// `dossier/send-held-back-digests`: daily at 00:05 in the pack's time zone (`[dossier]
/// timezone`), one digest per user of the dossier notifications the daily cap held back on the
/// day that just ended ("3 more overdue commitments", the items in its metadata). The work is
/// `dossier.send_held_back_digests()`, one statement; its dedupe key (per user and day) makes a
/// retried or repeated run send nothing more.
enum SendHeldBackDigests {
    static let id = "dossier/send-held-back-digests"

    /// Five minutes past midnight: the day has ended, and the overdue sweep (02:00) has not begun.
    static let cron = "5 0 * * *"

    static func function(timeZone: String) -> NightshiftFunction {
        NightshiftFunction(
            id: id, triggers: [.cron(cron, timezone: timeZone)], retries: 3, concurrency: .singleton,
            timeout: .seconds(300), payload: NoPayload.self
        ) { _, run in
            let database = run.database
            // Not a step: idempotent, and a retry after a config change writes the new zone.
            try await DossierSettings.configure(timeZone, database: database)
            let result: JSONValue = try await run.step.run("digests") {
                try JSONValue(json: try await database.query("select dossier.send_held_back_digests()::text")[0]
                    .decode(String.self, at: 0))
            }
            run.logger.info("held-back digests sent", metadata: ["result": "\(result)"])
            return result
        }
    }
}

extension DossierSettings {
    /// Writes `timezone` into `dossier.settings` (only a change is written): each of the pack's
    /// runs calls it first, so the database counts the day the config names.
    static func configure(_ timeZone: String, database: PostgresPool) async throws {
        _ = try await database.query("select dossier.configure(\(timeZone))")
    }
}
