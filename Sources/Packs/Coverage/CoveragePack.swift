import Engine

/// The coverage pack's jobs: the nightly USMLE coverage recompute and the alert it raises.
/// The logic is SQL in schema `coverage`; these are the schedule, the steps and the retries.
public enum CoveragePack {
    public static let functions: [NightshiftFunction] = [NightlyRecompute.function, GapAlerts.function]
}
