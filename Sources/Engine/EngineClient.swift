import Foundation
import Postgres

/// The engine's SQL functions for callers that are not workers: the CLI, the HTTP API,
/// the packs. Every one is a single call into schema `nightshift`.
public struct EngineClient: Sendable {
    let database: any PostgresQuerying

    public init(database: any PostgresQuerying) {
        self.database = database
    }

    /// Enqueues a run now; the same idempotency key returns the existing run.
    public func trigger(_ functionID: String, payloadJSON: String = "{}", idempotencyKey: String? = nil) async throws -> UUID {
        try await database.query("select nightshift.trigger(\(functionID), \(payloadJSON)::jsonb, \(idempotencyKey))")[0]
            .decode(UUID.self, at: 0)
    }

    /// Stores an event and fans out one run per subscribed function.
    public func sendEvent(_ name: String, dataJSON: String = "{}", idempotencyKey: String? = nil) async throws -> UUID {
        try await database.query("select nightshift.send_event(\(name), \(dataJSON)::jsonb, \(idempotencyKey))")[0]
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
                                             order by a.started_at) from nightshift.run_attempts a where a.run_id = r.id), '[]')::text
            from nightshift.runs r where r.id = \(runID)
            """)
        return try rows.first.map(RunRecord.init(row:))
    }

    /// Recent runs, newest first.
    public func runs(functionID: String? = nil, status: String? = nil, limit: Int = 20) async throws -> [RunRecord] {
        try await database.query("""
            select r.id, r.function_id, r.status, r.payload::text, r.output::text, r.error::text, r.attempt, r.max_attempts,
                   r.trigger_kind, r.trigger_slot, r.correlation_id, r.run_at, r.created_at, r.started_at, r.finished_at,
                   '[]', '[]'
            from nightshift.runs r
            where (\(functionID)::text is null or r.function_id = \(functionID))
              and (\(status)::text is null or r.status = \(status))
            order by r.created_at desc limit \(limit)
            """).map(RunRecord.init(row:))
    }
}

/// A run as operators see it.
public struct RunRecord: Sendable, Codable {
    public let id: UUID
    public let functionID: String
    public let status: String
    public let payload: JSONValue
    public let output: JSONValue?
    public let error: JSONValue?
    public let attempt: Int
    public let maxAttempts: Int
    public let trigger: String
    public let cronSlot: Date?
    public let correlationID: UUID
    public let runAt: Date
    public let createdAt: Date
    public let startedAt: Date?
    public let finishedAt: Date?
    public let steps: JSONValue
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
        public let cron: String
        public let timezone: String
        public let enabled: Bool
        public let catchUp: String
        public let nextSlot: Date

        enum CodingKeys: String, CodingKey {
            case cron, timezone, enabled
            case catchUp = "catch_up"
            case nextSlot = "next_slot"
        }
    }

    public let id: String
    public let enabled: Bool
    public let retired: Bool
    public let maxAttempts: Int
    public let backoff: [String: JSONValue]
    public let concurrencyLimit: Int?
    public let concurrencyKey: String?
    public let timeoutMs: Int?
    public let crashLimit: Int
    public let events: [String]
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
