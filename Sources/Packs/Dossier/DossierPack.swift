import Config
import Engine
import HTTPClient

/// The dossier pack's jobs: relationship health every few minutes, overdue commitments daily.
/// The logic is SQL in schema `dossier`; these are the schedules and the steps around it.
public enum DossierPack {
    /// Both jobs, reading the refresh interval, the API address and the service-role key from config.
    public static func functions(config: NightshiftConfig, http: HTTPClient) -> [NightshiftFunction] {
        [
            RefreshHealthScores.function(intervalMinutes: RefreshHealthScores.intervalMinutes(config)),
            DetectOverdue.function(
                endpoint: DetectOverdue.endpoint(config), serviceRoleKey: config.auth.serviceRoleKey, http: http),
        ]
    }
}
