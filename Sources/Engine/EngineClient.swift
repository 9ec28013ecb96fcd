import Foundation
import Postgres

/// The engine's SQL functions for callers that are not workers: the CLI, the HTTP API,
/// the packs. Every one is a single call into schema `nightshift`.
public struct EngineClient: Sendable {
    let database: any PostgresQuerying

    /// Calls the engine through `database`: a pool, a connection, or a `RequestDatabase` when the
    /// SQL must run under the API caller's role (the engine's functions check it).
    public init(database: any PostgresQuerying) {
        self.database = database
    }

    /// Enqueues a run now; the same idempotency key returns the existing run.
    public func trigger(_ functionID: String, payloadJSON: String = "{}", idempotencyKey: String? = nil) async throws -> UUID {
        try await database.query(.prepared("select nightshift.trigger(\(functionID), \(payloadJSON)::jsonb, \(idempotencyKey))"))[0]
            .decode(UUID.self, at: 0)
    }

    /// Stores an event and fans out one run per subscribed function.
    public func sendEvent(_ name: String, dataJSON: String = "{}", idempotencyKey: String? = nil) async throws -> UUID {
        try await database.query(.prepared("select nightshift.send_event(\(name), \(dataJSON)::jsonb, \(idempotencyKey))"))[0]
            .decode(UUID.self, at: 0)
    }

    /// Cancels a queued or running run; false when it had already finished.
    public func cancel(_ runID: UUID) async throws -> Bool {
        try await database.query("select nightshift.cancel(\(runID))")[0].decode(Bool.self, at: 0)
    }

    /// A new run of the same function and payload.
    public func rerun(_ runID: UUID) async throws -> UUID {
        try await database.query("select nightshift.rerun(\(runID))")[0].decode(UUID.self, at: 0)
    }

    /// One run with its steps and attempts, or nil.
    public func run(_ runID: UUID) async throws -> RunRecord? {
        let rows = try await database.query("""
            select r.id, r.function_id, r.status, r.payload::text, r.output::text, r.error::text, r.attempt, r.max_attempts,
                   r.trigger_kind, r.trigger_slot, r.correlation_id, r.run_at, r.created_at, r.started_at, r.finished_at,
                   coalesce((select json_agg(json_build_object('name', s.name, 'output', s.output, 'completed_at', s.completed_at)
                                             order by s.completed_at) from nightshift.steps s where s.run_id = r.id), '[]')::text,
                   coalesce((select json_agg(json_build_object('attempt', a.attempt, 'worker', a.worker, 'outcome', a.outcome,
                                             'error', a.error, 'started_at', a.started_at, 'finished_at', a.finished_at)
                                             order by a.started_at) from nightshift.ended_attempts a where a.run_id = r.id), '[]')::text
            from nightshift.runs r where r.id = \(runID)
            """)
        return try rows.first.map(RunRecord.init(row:))
    }

    /// Recent runs, newest first (`nightshift.recent_runs`, the walk api.runs pages with).
    public func runs(functionID: String? = nil, status: String? = nil, limit: Int = 20) async throws -> [RunRecord] {
        try await database.query("""
            select r.id, r.function_id, r.status, r.payload::text, r.output::text, r.error::text, r.attempt, r.max_attempts,
                   r.trigger_kind, r.trigger_slot, r.correlation_id, r.run_at, r.created_at, r.started_at, r.finished_at,
                   '[]', '[]'
            from nightshift.recent_runs(\(functionID)::text, \(status)::text, \(limit)::int) r
            order by r.created_at desc, r.id desc
            """).map(RunRecord.init(row:))
    }
}

/// A run as operators see it.
public struct RunRecord: Sendable, Codable {
    /// The run's id (`nightshift.runs.id`), as `nightshift run`, `runs` and the API show it.
    public let id: UUID
    /// The function's id, such as `hello/count-greetings`.
    public let functionID: String
    /// `queued`, `running`, `completed`, `failed` or `cancelled`; ``displayStatus`` also says why
    /// a failed run ended.
    public let status: String
    /// The input the run was enqueued with (an event's data for an event run).
    public let payload: JSONValue
    /// What the handler returned, once the run completed; nil before.
    public let output: JSONValue?
    /// The latest attempt's error (`message`, and `outcome` when the engine ended the run itself);
    /// every attempt's is in ``attempts``.
    public let error: JSONValue?
    /// The attempt being run, or the last one, from 1; a crash does not use one up.
    public let attempt: Int
    /// Attempts allowed in total: 1 + the function's retries.
    public let maxAttempts: Int
    /// What enqueued it: `cron`, `event`, `manual` (`nightshift.trigger`) or `rerun`.
    public let trigger: String
    /// The cron slot a cron run is for (each slot is enqueued once); nil for other triggers.
    public let cronSlot: Date?
    /// Shared by the runs of one event and by a run and its reruns, and on every log line of
    /// theirs: how to find everything one cause set off.
    public let correlationID: UUID
    /// The earliest instant the run may start; retry backoff and durable sleeps move it ahead.
    public let runAt: Date
    /// When it was enqueued.
    public let createdAt: Date
    /// When its first attempt was claimed; nil while it has not started.
    public let startedAt: Date?
    /// When it completed, failed or was cancelled; nil while it has not finished.
    public let finishedAt: Date?
    /// Its finished steps, oldest first (`name`, `output`, `completed_at`); empty in
    /// ``EngineClient/runs(functionID:status:limit:)``, which leaves them out to stay cheap.
    public let steps: JSONValue
    /// Every attempt (`attempt`, `worker`, `outcome`, `error`, `started_at`, `finished_at`),
    /// crashed and released ones included; empty in ``EngineClient/runs(functionID:status:limit:)``.
    public let attempts: JSONValue

    /// The status as operators should read it: a failed run that the engine ended itself says
    /// why (`quarantined`: it lost its worker `crash_limit` times without progress; `retired`:
    /// its function was retired and the grace period passed), from the error's `outcome`.
    public var displayStatus: String {
        guard status == "failed", case .object(let error)? = error, case .string(let outcome)? = error["outcome"] else { return status }
        return outcome
    }

    init(row: PostgresRow) throws {
        id = try row.decode(UUID.self, at: 0)
        functionID = try row.decode(String.self, at: 1)
        status = try row.decode(String.self, at: 2)
        payload = try JSONValue(json: try row.decode(String.self, at: 3))
        output = try row.decode(String?.self, at: 4).map { try JSONValue(json: $0) }
        error = try row.decode(String?.self, at: 5).map { try JSONValue(json: $0) }
        attempt = try row.decode(Int.self, at: 6)
        maxAttempts = try row.decode(Int.self, at: 7)
        trigger = try row.decode(String.self, at: 8)
        cronSlot = try row.decode(Date?.self, at: 9)
        correlationID = try row.decode(UUID.self, at: 10)
        runAt = try row.decode(Date.self, at: 11)
        createdAt = try row.decode(Date.self, at: 12)
        startedAt = try row.decode(Date?.self, at: 13)
        finishedAt = try row.decode(Date?.self, at: 14)
        steps = try JSONValue(json: try row.decode(String.self, at: 15))
        attempts = try JSONValue(json: try row.decode(String.self, at: 16))
    }

    enum CodingKeys: String, CodingKey {
        case id, status, payload, output, error, attempt, trigger, steps, attempts
        case functionID = "function_id"
        case maxAttempts = "max_attempts"
        case cronSlot = "cron_slot"
        case correlationID = "correlation_id"
        case runAt = "run_at"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }
}


extension EngineClient {
    /// Every declared function with its triggers and settings, as synced by the workers.
    public func functions() async throws -> [FunctionRecord] {
        try await database.query("""
            select f.id, f.enabled, f.retired_at is not null, f.max_attempts, f.backoff_base_ms, f.backoff_multiplier::float8,
                   f.backoff_max_ms, f.backoff_jitter, f.concurrency_limit, f.concurrency_key, f.timeout_ms, f.crash_limit,
                   f.event_names, s.cron, s.timezone, s.enabled, s.catch_up, s.next_slot
            from nightshift.functions f left join nightshift.schedules s on s.function_id = f.id
            order by f.id
            """).map(FunctionRecord.init(row:))
    }
}

/// A declared function as the database holds it (what Inngest's `serve()` GET describes).
public struct FunctionRecord: Sendable, Encodable {
    /// A cron trigger.
    public struct Schedule: Sendable, Encodable {
        /// The cron expression (5 fields, `@daily`…, or `'N seconds'`).
        public let cron: String
        /// The IANA zone the expression is evaluated in.
        public let timezone: String
        /// False while the schedule is disabled: its slots are not enqueued.
        public let enabled: Bool
        /// What runs after downtime: `skip`, `latest` or `all`.
        public let catchUp: String
        /// The first slot not yet handled; in the past after downtime, which is how missed slots are found.
        public let nextSlot: Date

        enum CodingKeys: String, CodingKey {
            case cron, timezone, enabled
            case catchUp = "catch_up"
            case nextSlot = "next_slot"
        }
    }

    /// The function's id, such as `hello/count-greetings`.
    public let id: String
    /// False stops its cron and event triggers; an explicit trigger or rerun still works.
    public let enabled: Bool
    /// True when no worker's sync declares it any more: it cannot be triggered, and its queued
    /// runs fail after `[scheduler] retired_grace`.
    public let retired: Bool
    /// Attempts allowed in total: 1 + retries.
    public let maxAttempts: Int
    /// The retry backoff: `base_ms`, `multiplier`, `max_ms` and `jitter`.
    public let backoff: [String: JSONValue]
    /// At most this many runs at once (per ``concurrencyKey``); nil is unlimited, 1 a singleton.
    public let concurrencyLimit: Int?
    /// The payload field whose values are limited separately; nil limits the function as a whole.
    public let concurrencyKey: String?
    /// Each attempt's time limit in milliseconds; nil is none.
    public let timeoutMs: Int?
    /// Lost leases in a row without progress after which a run is quarantined as failed.
    public let crashLimit: Int
    /// The events that enqueue a run of it.
    public let events: [String]
    /// Its cron trigger, or nil when it has none.
    public let schedule: Schedule?

    init(row: PostgresRow) throws {
        id = try row.decode(String.self, at: 0)
        enabled = try row.decode(Bool.self, at: 1)
        retired = try row.decode(Bool.self, at: 2)
        maxAttempts = try row.decode(Int.self, at: 3)
        backoff = [
            "base_ms": .number(Decimal(try row.decode(Int.self, at: 4))),
            "multiplier": .number(Decimal(try row.decode(Double.self, at: 5))),
            "max_ms": .number(Decimal(try row.decode(Int.self, at: 6))),
            "jitter": .bool(try row.decode(Bool.self, at: 7)),
        ]
        concurrencyLimit = try row.decode(Int?.self, at: 8)
        concurrencyKey = try row.decode(String?.self, at: 9)
        timeoutMs = try row.decode(Int?.self, at: 10)
        crashLimit = try row.decode(Int.self, at: 11)
        events = try row.decode([String].self, at: 12)
        if let cron = try row.decode(String?.self, at: 13) {
            schedule = Schedule(
                cron: cron, timezone: try row.decode(String.self, at: 14), enabled: try row.decode(Bool.self, at: 15),
                catchUp: try row.decode(String.self, at: 16), nextSlot: try row.decode(Date.self, at: 17))
        } else {
            schedule = nil
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, enabled, retired, backoff, events, schedule
        case maxAttempts = "max_attempts"
        case concurrencyLimit = "concurrency_limit"
        case concurrencyKey = "concurrency_key"
        case timeoutMs = "timeout_ms"
        case crashLimit = "crash_limit"
    }
}
