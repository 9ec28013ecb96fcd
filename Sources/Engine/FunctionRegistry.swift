import Config
import Foundation
import Logging
import Postgres

/// The functions this process serves, with config applied, and their sync into
/// `nightshift.functions` / `nightshift.schedules`.
public struct FunctionRegistry: Sendable {
    /// The functions by id, with `[jobs."<id>"]` config applied once ``apply(_:)`` ran.
    public private(set) var functions: [String: NightshiftFunction] = [:]
    /// False when `ENABLE_SCHEDULED_JOBS=false` (or `[scheduler] enabled = false`): no cron fires.
    public private(set) var schedulesEnabled = true

    /// Refuses two functions with one id.
    public init(_ functions: [NightshiftFunction]) throws {
        for function in functions {
            guard self.functions.updateValue(function, forKey: function.id) == nil else {
                throw ConfigError(key: function.id, source: "function declarations", problem: "two functions share this id")
            }
        }
    }

    /// The same registry narrowed to `ids`, config applied as it was: a worker that serves
    /// only these (`nightshift run --wait` executes its own run and leaves the rest to the workers).
    public func only(_ ids: Set<String>) -> FunctionRegistry {
        var narrowed = self
        narrowed.functions = functions.filter { ids.contains($0.key) }
        return narrowed
    }

    /// Applies `[jobs."<id>"]` (cron, timezone, enabled, retries, max_concurrency) and `[scheduler] enabled`.
    /// Returns the ids configured but not declared, for the caller to warn about.
    @discardableResult
    public mutating func apply(_ config: NightshiftConfig) -> [String] {
        schedulesEnabled = config.scheduler.enabled
        for (id, settings) in config.jobs {
            guard var function = functions[id] else { continue }
            if settings.cron != nil || settings.timezone != nil {
                let current = function.schedule
                let cron = settings.cron ?? current?.cron
                let timezone = settings.timezone ?? current?.timezone ?? "UTC"
                function.triggers.removeAll { if case .cron = $0 { true } else { false } }
                if let cron { function.triggers.append(.cron(cron, timezone: timezone)) }
            }
            if let enabled = settings.enabled { function.enabled = enabled }
            if let retries = settings.retries { function.retries = retries }
            if let limit = settings.maxConcurrency {
                // A declared per-key limit keeps its key; config changes only how many.
                if case .limit(_, let key?) = function.concurrency {
                    function.concurrency = .limit(limit, key: key)
                } else {
                    function.concurrency = limit == 1 ? .singleton : .limit(limit)
                }
            }
            functions[id] = function
        }
        return config.jobs.keys.filter { functions[$0] == nil }.sorted()
    }

    /// Upserts every declaration; the database validates cron expressions and zones and
    /// computes the next slot. Functions no longer declared are retired there: a worker's
    /// start-up, speaking for what this build runs.
    public func sync(to database: PostgresPool) async throws {
        try await database.execute("select nightshift.sync_functions(\(try specsJSON())::jsonb)")
    }

    /// Upserts these declarations and retires nothing: for a process that runs some functions
    /// without speaking for every worker (`nightshift run --wait`, maybe from another build).
    public func declare(to database: PostgresPool) async throws {
        try await database.execute("select nightshift.declare_functions(\(try specsJSON())::jsonb)")
    }

    private func specsJSON() throws -> String {
        let specs = functions.values.sorted { $0.id < $1.id }.map { spec(for: $0) }
        return String(decoding: try JSONSerialization.data(withJSONObject: specs, options: [.sortedKeys]), as: UTF8.self)
    }

    func spec(for function: NightshiftFunction) -> [String: Any] {
        var concurrency: [String: Any] = ["limit": NSNull(), "key": NSNull()]
        switch function.concurrency {
        case .unlimited: break
        case .singleton: concurrency["limit"] = 1
        case .limit(let limit, let key):
            concurrency["limit"] = limit
            concurrency["key"] = key ?? NSNull()
        }
        var schedule: Any = NSNull()
        if let (cron, timezone) = function.schedule {
            let (catchUp, cap): (String, Int) = switch function.catchUp {
            case .skip: ("skip", 1)
            case .latest: ("latest", 1)
            case .all(let cap): ("all", cap)
            }
            schedule = [
                "cron": cron, "timezone": timezone, "enabled": schedulesEnabled && function.enabled,
                "catch_up": catchUp, "catch_up_cap": cap,
            ] as [String: Any]
        }
        var spec: [String: Any] = [
            "id": function.id,
            "max_attempts": function.retries + 1,
            "backoff": [
                "base_ms": function.backoff.base.milliseconds,
                "multiplier": function.backoff.multiplier,
                "max_ms": function.backoff.max.milliseconds,
                "jitter": function.backoff.jitter,
            ] as [String: Any],
            "concurrency": concurrency,
            "timeout_ms": function.timeout.map { $0.milliseconds as Any } ?? NSNull(),
            "crash_limit": function.crashLimit,
            "events": function.eventNames,
            "enabled": function.enabled,
            "schedule": schedule,
            "on_failure": function.onFailureChannel ?? NSNull(),
        ]
        switch function.declared {
        case nil:
            break
        case .sql(let statement):
            spec["kind"] = "sql"
            spec["body"] = ["sql": statement]
        case .http(let call):
            var body: [String: Any] = ["url": call.url, "method": call.method]
            if let timeout = call.timeout { body["timeout_ms"] = max(1, timeout.milliseconds) }
            if !call.headers.isEmpty { body["headers"] = call.headers }
            spec["kind"] = "http"
            spec["body"] = body
        }
        return spec
    }
}
