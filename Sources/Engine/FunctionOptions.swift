/// What starts a function besides a manual trigger.
public enum Trigger: Sendable, Equatable {
    /// A standard 5-field cron expression (or `@daily` …) evaluated in an IANA time zone.
    case cron(String, timezone: String = "UTC")
    /// Every `nightshift.send_event(name, …)` enqueues one run with the event's data as payload.
    case event(String)
}

/// How long to wait before each retry: `base * multiplier^(attempt-1)`, capped, optionally jittered.
public struct Backoff: Sendable, Equatable {
    /// The delay before the first retry.
    public var base: Duration
    /// Each further retry waits this many times longer than the previous one.
    public var multiplier: Double
    /// No delay is longer than this (before jitter), however many attempts failed.
    public var max: Duration
    /// Spread each delay by up to 20 % either way, so a burst of failures does not retry in lockstep.
    public var jitter: Bool

    /// 1 s, 2 s, 4 s, … by default.
    public static func exponential(
        base: Duration = .seconds(1), multiplier: Double = 2, max: Duration = .seconds(3600), jitter: Bool = false
    ) -> Backoff {
        Backoff(base: base, multiplier: multiplier, max: max, jitter: jitter)
    }
}

/// How many runs of a function may run at once; the database enforces it across processes.
public enum Concurrency: Sendable, Equatable {
    /// No limit: as many runs at once as workers will claim (the default).
    case unlimited
    /// One running run at a time, everywhere (replaces a Redis `SET NX EX` lock).
    case singleton
    /// At most `limit` running runs per value of the payload field `key` (all runs when key is nil).
    case limit(Int, key: String? = nil)
}

/// What a cron schedule does with slots missed while no worker or ticker ran.
public enum CatchUp: Sendable, Equatable {
    /// Run only a slot that is on time; record every missed one as skipped.
    case skip
    /// Run the newest missed slot; record the older ones as skipped (the default).
    case latest
    /// Run the newest `cap` missed slots; record the rest as skipped.
    case all(cap: Int)
}

extension Duration {
    /// Whole milliseconds, for the database's `*_ms` columns.
    var milliseconds: Int {
        Int(components.seconds) * 1000 + Int(components.attoseconds / 1_000_000_000_000_000)
    }
}
