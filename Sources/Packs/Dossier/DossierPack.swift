import Config
import Engine
import HTTPClient
import ServiceTokens

/// The dossier pack's jobs: relationship health every few minutes, overdue commitments daily.
/// The logic is SQL in schema `dossier`; these are the schedules and the steps around it.
public enum DossierPack {
    /// Both jobs, reading the refresh interval, the API address and `[auth]` from config.
    public static func functions(config: NightshiftConfig, http: HTTPClient) -> [NightshiftFunction] {
        [
            RefreshHealthScores.function(intervalMinutes: RefreshHealthScores.intervalMinutes(config)),
            DetectOverdue.function(
                endpoint: DetectOverdue.endpoint(config),
                credential: ServiceCredential(auth: config.auth, projectID: config.projectID), http: http),
        ]
    }
}
