import Foundation
import Logging
import Postgres

/// What a handler gets besides its payload: who it is, the step API, the database and a logger
/// whose every line carries the run id, function id and correlation id.
public struct RunContext: Sendable {
    /// The run being executed; the same on every attempt and after a crash.
    public let runID: UUID
    /// The function's id, such as `hello/count-greetings`.
    public let functionID: String
    /// 1 for the first attempt, 2 for the first retry, …
    public let attempt: Int
    /// Attempts allowed in all; `attempt == maxAttempts` is the last chance before the run fails.
    public let maxAttempts: Int
    /// Links everything this run causes (events, rows written by packs, log lines).
    public let correlationID: UUID
    /// What enqueued the run (a cron slot, an event, a manual trigger or a rerun).
    public let trigger: RunTrigger
    /// The worker's pool (as the worker's login), for reads and for writes that need no
    /// checkpoint; a write that must happen exactly once belongs in `step.transaction`.
    public let database: PostgresPool
    /// A logger whose every line carries `run_id`, `function_id` and `correlation_id`.
    public let logger: Logger
    /// Checkpointed steps: a finished step is never run again for this run.
    public let step: Step
    let payloadJSON: Data
}

/// Why a run exists.
public enum RunTrigger: Sendable, Equatable {
    /// A cron schedule, for the slot (the scheduled instant, not when it ran).
    case cron(slot: Date)
    /// An event (`nightshift.send_event`), by its id in `nightshift.events`; the payload is its data.
    case event(id: UUID)
    /// An explicit `nightshift.trigger`: the CLI's `run`, the API, a SQL console or ``EngineClient``.
    case manual
    /// `nightshift.rerun` of an earlier run, with the same payload and correlation id.
    case rerun
}
