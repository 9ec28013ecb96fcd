import Config

/// `[dossier]`: `timezone`, the pack's day. Environment: `HEALTH_REFRESH_INTERVAL_MINUTES`
/// (1–60; the health refresh runs every N minutes) and `OVERDUE_CHECK_HOUR` (0–23; the overdue
/// sweep's hour).
public struct DossierSettings: ConfigSection {
    public static let name = "dossier"

    /// The IANA time zone of the pack's calendar day (`timezone`, default `Asia/Riyadh`): due
    /// dates, "days since", the hours of the overdue sweep and the digest, and the day the
    /// notification cap counts for the pack's notifications. Written to
    /// `dossier.settings.time_zone` by `dossier.configure` at the start of each of the pack's runs.
    public var timeZone: String

    /// Asia/Riyadh.
    public init() {
        timeZone = "Asia/Riyadh"
    }

    public init(reading section: inout TOMLSection) throws {
        self.init()
        if let zone = try section.string("timezone") {
            guard isKnownTimeZone(zone) else {
                throw section.error("timezone", "\"\(zone)\" is not an IANA time zone name (such as Asia/Riyadh)")
            }
            timeZone = zone
        }
    }

    public mutating func applyEnvironment(_ environment: ConfigEnvironment, jobs: inout [String: JobSettings]) throws {
        if let minutes = try environment.int("HEALTH_REFRESH_INTERVAL_MINUTES", range: 1...60) {
            jobs[RefreshHealthScores.id, default: JobSettings()].cron = minutes == 60 ? "0 * * * *" : "*/\(minutes) * * * *"
        }
        if let hour = try environment.int("OVERDUE_CHECK_HOUR", range: 0...23) {
            jobs[DetectOverdue.id, default: JobSettings()].cron = "0 \(hour) * * *"
        }
    }
}
