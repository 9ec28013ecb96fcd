import Config

/// `[coverage]`: no keys yet; the home of the seed's `COVERAGE_JOB_CRON` (the nightly
/// recompute's schedule).
public struct CoverageSettings: ConfigSection {
    public static let name = "coverage"

    public init() {}

    public init(reading section: inout TOMLSection) throws {}

    public mutating func applyEnvironment(_ environment: ConfigEnvironment, jobs: inout [String: JobSettings]) throws {
        if let cron = environment.string("COVERAGE_JOB_CRON") {
            jobs[NightlyRecompute.id, default: JobSettings()].cron = cron
        }
    }
}
