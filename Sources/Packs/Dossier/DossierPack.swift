import Config
import Engine
import HTTPClient
import Migrations
import NightshiftKit
import NightshiftSQL
import Server
import ServiceTokens

/// The dossier pack: relationship health every few minutes, overdue commitments daily, a digest
/// of what the notification cap held back each night, and the five edge functions of the relationship-health backend. The logic is SQL in schema
/// `dossier`; these are the schedules, the steps and the HTTP faces around it.
public struct DossierPack: Pack {
    public let name = "dossier"

    public init() {}

    /// Schema `dossier`: its files in sql/migrations/dossier/, bundled in NightshiftSQL.
    public func migrations() throws -> MigrationSet? { try NightshiftSQL.migrations(name) }

    /// The console's overview: the scores' freshness, and when each of the pack's jobs last ran and how it ended.
    public var consoleHealth: [any ConsoleHealth] {
        [FreshnessHealth(), LastRunsHealth(title: "Dossier", functionIDs: [RefreshHealthScores.id, DetectOverdue.id, SendHeldBackDigests.id])]
    }

    public var configSections: [any ConfigSection.Type] { [DossierSettings.self] }

    /// The three jobs, reading the refresh interval, the API address, `[auth]` and `[dossier]
    /// timezone` from config.
    public func functions(_ context: PackContext) throws -> [NightshiftFunction] {
        let config = context.config
        let timeZone = config.section(DossierSettings.self).timeZone
        return [
            RefreshHealthScores.function(intervalMinutes: RefreshHealthScores.intervalMinutes(config), timeZone: timeZone),
            DetectOverdue.function(
                endpoint: DetectOverdue.endpoint(config),
                credential: ServiceCredential(auth: config.auth, projectID: config.projectID), http: context.http,
                timeZone: timeZone),
            SendHeldBackDigests.function(timeZone: timeZone),
        ]
    }

    /// The five edge functions, served at `POST /functions/v1/<name>`.
    public var edgeFunctions: [any EdgeFunction] { Self.edgeFunctions }

    static let edgeFunctions: [any EdgeFunction] = [
        DossierStats(),
        CalculateHealthScore(),
        DetectOverdueCommitments(),
        RefreshCommitmentStats(),
        TriggerHealthRecalculation(),
    ]
}
