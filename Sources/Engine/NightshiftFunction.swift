import Config
import Foundation
import Postgres

/// A durable function: its id, what triggers it, how it retries and how many may run at once,
/// and the handler that does the work in checkpointed steps.
public struct NightshiftFunction: Sendable {
    /// A stable id such as `reports/nightly-refresh`: a folder-like prefix, then the job.
    public let id: String
    /// What enqueues runs besides an explicit trigger: at most one `.cron`, any number of `.event`s.
    /// Empty for a function that runs only when triggered (`nightshift run`, `EngineClient.trigger`).
    public var triggers: [Trigger]
    /// Retries after the first attempt (so `retries + 1` attempts in all).
    public var retries: Int
    /// The delay before each retry (1 s, 2 s, 4 s, … by default); applied by moving the run's
    /// `run_at`, never by sleeping in a worker.
    public var backoff: Backoff
    /// How many runs may execute at once, across every process (unlimited by default).
    public var concurrency: Concurrency
    /// The limit of one attempt; past it the attempt fails (and is retried as any failure).
    public var timeout: Duration?
    /// What a cron trigger runs after downtime (`.latest` by default: the newest missed slot only).
    public var catchUp: CatchUp
    /// A run whose worker vanished this many times in a row is quarantined as failed.
    public var crashLimit: Int
    /// Whether cron and event triggers fire (config and `ENABLE_SCHEDULED_JOBS` override).
    public var enabled: Bool
    /// Called once when a run ends `failed`, to raise an alert.
    public var onFailure: (@Sendable (FailedRun) async -> Void)?
    /// A notification channel (`[notifications.channels.<name>]`) the database alerts once when
    /// a run ends `failed`, by whatever path (recorded as `nightshift.functions.on_failure`).
    public var onFailureChannel: String? = nil
    /// The SQL statement or HTTP call of a config-declared job (nil for Swift code): what
    /// `sync_functions` records as the function's kind and body.
    public internal(set) var declared: DeclaredJob.Work? = nil
    let body: @Sendable (RunContext) async throws -> Data

    /// Declares a function whose payload decodes as `Payload` and whose result is stored as JSON.
    public init<Payload: Decodable & Sendable, Output: Encodable & Sendable>(
        id: String,
        triggers: [Trigger] = [],
        retries: Int = 3,
        backoff: Backoff = .exponential(),
        concurrency: Concurrency = .unlimited,
        timeout: Duration? = nil,
        catchUp: CatchUp = .latest,
        crashLimit: Int = 3,
        enabled: Bool = true,
        payload: Payload.Type = Payload.self,
        onFailure: (@Sendable (FailedRun) async -> Void)? = nil,
        handler: @escaping @Sendable (Payload, RunContext) async throws -> Output
    ) {
        self.id = id
        self.triggers = triggers
        self.retries = retries
        self.backoff = backoff
        self.concurrency = concurrency
        self.timeout = timeout
        self.catchUp = catchUp
        self.crashLimit = crashLimit
        self.enabled = enabled
        self.onFailure = onFailure
        self.body = { context in
            let payload: Payload
            do {
                // The common "no payload" needs no decoder (anything else still goes through one,
                // so a payload that is not an object is refused as before).
                if Payload.self == NoPayload.self, context.payloadJSON.elementsEqual("{}".utf8) {
                    payload = NoPayload() as! Payload
                } else {
                    payload = try JSONDecoder().decode(Payload.self, from: context.payloadJSON)
                }
            } catch {
                throw NonRetriableError("payload does not match \(Payload.self): \(error)")
            }
            let output = try await handler(payload, context)
            // The common "nothing to return" skips building an encoder for two bytes.
            if output is NoPayload { return Data("{}".utf8) }
            return try JSONEncoder.nightshift.encode(output)
        }
    }

    /// The cron trigger, if any (a function has at most one schedule).
    public var schedule: (cron: String, timezone: String)? {
        for case .cron(let cron, let timezone) in triggers { return (cron, timezone) }
        return nil
    }

    /// The event names it subscribes to.
    public var eventNames: [String] {
        triggers.compactMap { if case .event(let name) = $0 { name } else { nil } }
    }
}

/// A payload for functions that take none: decodes from any JSON object.
public struct NoPayload: Codable, Sendable, Equatable {
    /// The empty payload; a handler that takes none ignores it.
    public init() {}
}

/// What `onFailure` learns about a run that ended failed.
public struct FailedRun: Sendable {
    /// The failed run's id: `nightshift runs` and ``EngineClient/run(_:)`` show its attempts and errors.
    public let runID: UUID
    /// The id of the function whose `onFailure` is called, for an alert that serves several.
    public let functionID: String
    /// Ties it to the event or the original run that caused it, and to their log lines.
    public let correlationID: UUID
    /// The last attempt, from 1.
    public let attempt: Int
    /// The last attempt's error as text (for a quarantined run, the message the engine recorded).
    public let error: String
}

extension JSONEncoder {
    /// Sorted keys, ISO dates with milliseconds and lower-case UUIDs: step outputs are stable
    /// text, easy to read from SQL (and compared with PostgreSQL's `uuid::text`), and a memoised
    /// `Date()` keeps its sub-second part. Decoding accepts UUIDs in either case, so checkpoints
    /// written upper-case before still replay.
    static var nightshift: JSONEncoder {
        let encoder = LowercaseUUIDJSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(ISO8601Dates.fractional))
        }
        return encoder
    }
}

extension JSONDecoder {
    /// Reads ISO dates with or without fractional seconds.
    static var nightshift: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            // Each parse throws on a mismatch: try them one by one (one `try?` over both would never reach the second).
            if let date = (try? ISO8601Dates.fractional.parse(text)) ?? (try? ISO8601Dates.whole.parse(text)) { return date }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 date: \(text)"))
        }
        return decoder
    }
}

enum ISO8601Dates {
    static let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    static let whole = Date.ISO8601FormatStyle()
}
