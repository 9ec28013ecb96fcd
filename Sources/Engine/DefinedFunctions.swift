import Config
import Foundation
import HTTPClient
import Postgres

/// The functions defined from SQL (`nightshift.define_function`, `defined_in = 'sql'`): what a
/// worker needs to run them, read from `nightshift.functions`. The worker loads them at start,
/// when its listener (re)connects, on each NOTIFY `nightshift_functions`, and when its periodic
/// check (`WorkerOptions.definedFunctionsCheck`) sees `version` change.
///
/// Only the work and the attempt's timeout come from here: retries, backoff, concurrency,
/// schedule and catch-up are the database's (claim, fail_run and tick read them there).
public struct DefinedFunctions: Sendable {
    /// The channel `define_function` and `drop_function` notify.
    public static let channel = "nightshift_functions"

    let http: HTTPClient
    let bearer: @Sendable (String) async throws -> String
    /// Only these ids (nil: every one).
    var ids: Set<String>? = nil

    /// `bearer` gives the service token for an HTTP function's URL (`ServiceCredential.bearer(for:)`).
    public init(http: HTTPClient, bearer: @escaping @Sendable (String) async throws -> String) {
        self.http = http
        self.bearer = bearer
    }

    /// The same loader narrowed to `ids`: `nightshift run <id> --wait` runs its own run and
    /// leaves the other functions' runs to the workers.
    public func only(_ ids: Set<String>) -> DefinedFunctions {
        var narrowed = self
        narrowed.ids = ids
        return narrowed
    }

    /// A value that changes whenever a function defined from SQL is defined, redefined, dropped
    /// or taken over by a worker's code (all of them move `updated_at` or the count): what the
    /// worker's periodic check compares, one index-free scan of a small table.
    public static func version(of database: PostgresPool) async throws -> String {
        try await database.query("""
            select count(*)::text || '/' || coalesce(max(updated_at)::text, '-') from nightshift.functions
            where defined_in = 'sql'
            """)[0].decode(String.self, at: 0)
    }

    /// Every active function defined from SQL, by id; a row whose body cannot be read is
    /// skipped and reported in `problems`.
    public func load(from database: PostgresPool) async throws -> (functions: [String: NightshiftFunction], problems: [String]) {
        let rows = try await database.query("""
            select id, kind, body::text, max_attempts, timeout_ms from nightshift.functions
            where defined_in = 'sql' and retired_at is null and kind in ('sql', 'http')
            """)
        var functions: [String: NightshiftFunction] = [:]
        var problems: [String] = []
        for row in rows {
            let (id, kind, bodyText, maxAttempts, timeoutMs) = try row.decode(String.self, String.self, String?.self, Int.self, Int?.self)
            if let ids, !ids.contains(id) { continue }
            guard let work = Self.work(kind: kind, body: bodyText) else {
                problems.append("\(id): cannot read its \(kind) body \(bodyText ?? "null")")
                continue
            }
            let job = DeclaredJob(id: id, work: work, retries: max(0, maxAttempts - 1), timeout: timeoutMs.map { .milliseconds($0) })
            functions[id] = NightshiftFunction.declared(job, http: http, bearer: bearer)
        }
        return (functions, problems)
    }

    /// The work of a row: `{"sql"}` or `{"url", "method", "timeout_ms", "headers"}` (as `_check_body` stores it).
    static func work(kind: String, body: String?) -> DeclaredJob.Work? {
        guard let body, case .object(let object)? = try? JSONValue(json: body) else { return nil }
        switch kind {
        case "sql":
            guard case .string(let statement)? = object["sql"] else { return nil }
            return .sql(statement)
        case "http":
            guard case .string(let url)? = object["url"] else { return nil }
            var call = DeclaredJob.HTTPCall(url: url)
            if case .string(let method)? = object["method"] { call.method = method.uppercased() }
            if case .number(let ms)? = object["timeout_ms"] { call.timeout = .milliseconds(NSDecimalNumber(decimal: ms).int64Value) }
            if case .object(let headers)? = object["headers"] {
                for (name, value) in headers {
                    guard case .string(let text) = value else { return nil }
                    call.headers[name] = text
                }
            }
            return .http(call)
        default:
            return nil
        }
    }
}
