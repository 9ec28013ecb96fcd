import Foundation
import Logging
import Postgres

/// What a handler gets besides its payload: who it is, the step API, the database and a logger
/// whose every line carries the run id, function id and correlation id.
public struct RunContext: Sendable {
    public let runID: UUID
    public let functionID: String
    /// 1 for the first attempt, 2 for the first retry, …
    public let attempt: Int
    public let maxAttempts: Int
    /// Links everything this run causes (events, rows written by packs, log lines).
    public let correlationID: UUID
    public let trigger: RunTrigger
    public let database: PostgresPool
    public let logger: Logger
    /// Checkpointed steps: a finished step is never run again for this run.
    public let step: Step
    let payloadJSON: Data
}

/// Why a run exists.
public enum RunTrigger: Sendable, Equatable {
    case cron(slot: Date)
    case event(id: UUID)
    case manual
    case rerun
}
