import Config

/// `[dossier]`: no keys yet; the table exists so that the seed's environment variables have a
/// home. Environment: `HEALTH_REFRESH_INTERVAL_MINUTES` (1–60; the health refresh runs every N
/// minutes) and `OVERDUE_CHECK_HOUR` (0–23; the overdue sweep's hour).
public struct DossierSettings: ConfigSection {
    public static let name = "dossier"

    public init() {}

    public init(reading section: inout TOMLSection) throws {}

    public mutating func applyEnvironment(_ environment: ConfigEnvironment, jobs: inout [String: JobSettings]) throws {
        if let minutes = try environment.int("HEALTH_REFRESH_INTERVAL_MINUTES", range: 1...60) {
            jobs[RefreshHealthScores.id, default: JobSettings()].cron = minutes == 60 ? "0 * * * *" : "*/\(minutes) * * * *"
        }
        if let hour = try environment.int("OVERDUE_CHECK_HOUR", range: 0...23) {
            jobs[DetectOverdue.id, default: JobSettings()].cron = "0 \(hour) * * *"
        }
    }
}
