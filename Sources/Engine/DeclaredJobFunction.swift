import Config
import Foundation
import HTTPClient
import Postgres

extension NightshiftFunction {
    /// A function whose work is a config-declared job (`[functions."<id>"]` with `sql` or `http`):
    /// retried, limited, scheduled, timed out and recorded like any other.
    ///
    /// - SQL: the statement runs in its own transaction on the worker's pool, with
    ///   `statement_timeout` set from the job's timeout. SQLSTATE 40001, 40P01 and class 08 (and a
    ///   lost connection) are retried with the backoff; the job's own statement timeout counts as
    ///   the attempt timing out (retried, as for any function); any other error fails the run at
    ///   once, naming its SQLSTATE. The output is `{"rows": N}` (rows returned or affected).
    /// - HTTP: one request through `http`, the run's payload as the JSON body (not for GET and
    ///   DELETE), `Authorization: Bearer <bearer(url)>` unless the job's headers set it. 5xx, 429
    ///   and network trouble are retried; any other status from 400 up fails the run at once. A
    ///   JSON answer is the run's output, else `{"status": N}`.
    ///
    /// `bearer` gives the service token for a URL (`ServiceCredential.bearer(for:)`); what it
    /// throws fails the run at once (a token that may not go somewhere never will).
    public static func declared(
        _ job: DeclaredJob,
        http: HTTPClient,
        bearer: @escaping @Sendable (String) async throws -> String
    ) -> NightshiftFunction {
        let retries = job.retries ?? 3
        let concurrency: Concurrency = switch job.maxConcurrency {
        case nil: .unlimited
        case 1: .singleton
        case let limit?: .limit(limit)
        }
        let catchUp: CatchUp = switch job.catchUp {
        case nil, .latest: .latest
        case .skip: .skip
        case .all: .all(cap: 10)
        }
        let triggers: [Trigger] = job.cron.map { [.cron($0, timezone: job.timezone ?? "UTC")] } ?? []
        let timeout = job.timeout
        var function: NightshiftFunction
        switch job.work {
        case .sql(let statement):
            function = NightshiftFunction(
                id: job.id, triggers: triggers, retries: retries, concurrency: concurrency, timeout: timeout,
                catchUp: catchUp, payload: JSONValue.self
            ) { _, run in
                try await DeclaredJobRunner.runSQL(statement, timeout: timeout, database: run.database)
            }
        case .http(let call):
            function = NightshiftFunction(
                id: job.id, triggers: triggers, retries: retries, concurrency: concurrency, timeout: timeout,
                catchUp: catchUp, payload: JSONValue.self
            ) { payload, _ in
                try await DeclaredJobRunner.call(call, payload: payload, http: http, bearer: bearer)
            }
        }
        function.declared = job.work
        function.onFailureChannel = job.onFailure
        return function
    }
}

/// A declared job's attempt failed in a way that may pass on a later attempt (5xx, 429, network).
public struct DeclaredJobTransientError: Error, CustomStringConvertible, TransienceClassified, RunErrorFields {
    /// What went wrong, naming the request or statement (it becomes the run's error message).
    public let message: String
    /// The answer's status, when there was one (5xx, 429).
    public var httpStatus: Int? = nil
    /// Always true: the worker retries it with backoff while attempts remain.
    public var isTransient: Bool { true }
    public var description: String { message }
    var errorFields: [String: Any] { httpStatus.map { ["http_status": $0] } ?? [:] }
}

/// A declared job's attempt failed for good: another attempt would fail the same way. Its
/// SQLSTATE or HTTP status goes into the run's error (`sqlstate`, `http_status`), and from
/// there into the `on_failure` alert.
public struct DeclaredJobFailure: Error, CustomStringConvertible, TransienceClassified, RunErrorFields {
    /// What went wrong, naming the request or statement (it becomes the run's error message).
    public let message: String
    /// The SQL job's SQLSTATE (`22012`), when the failure came from PostgreSQL.
    public var sqlState: String? = nil
    /// The HTTP job's answer status (a 4xx), when there was an answer.
    public var httpStatus: Int? = nil
    /// Always false: the run fails at once, without using its remaining retries.
    public var isTransient: Bool { false }
    public var description: String { message }
    var errorFields: [String: Any] {
        var fields: [String: Any] = [:]
        if let sqlState { fields["sqlstate"] = sqlState }
        if let httpStatus { fields["http_status"] = httpStatus }
        return fields
    }
}

/// Extra keys an error adds to the run's error object (`Worker.describe`).
protocol RunErrorFields {
    var errorFields: [String: Any] { get }
}

enum DeclaredJobRunner {
    static func runSQL(_ statement: String, timeout: Duration?, database: PostgresPool) async throws -> JSONValue {
        do {
            let rows = try await database.withTransaction { connection in
                if let timeout {
                    _ = try connection.query("select pg_catalog.set_config('statement_timeout', \(String(max(1, timeout.milliseconds))), true)")
                }
                // The extended protocol takes one statement: a second one is refused (42601).
                return try connection.query(PostgresQuery(unsafeSQL: statement)).affectedRows
            }
            return .object(["rows": .number(Decimal(rows))])
        } catch let error as PostgresError {
            throw classify(error, timeout: timeout)
        }
    }

    /// 40001, 40P01, class 08 and a lost connection: the error itself, which the worker retries.
    /// The job's statement_timeout: the attempt timed out. Anything else: non-retriable.
    static func classify(_ error: PostgresError, timeout: Duration?) -> any Error {
        let state = error.sqlState
        if let state, state == "40001" || state == "40P01" || state.hasPrefix("08") { return error }
        if state == nil, error.kind == .connection { return error }
        if state == "57014", let timeout { return RunTimedOut(limit: timeout) }
        return DeclaredJobFailure(message: "SQLSTATE \(state ?? "(none)"): \(error.message)", sqlState: state)
    }

    static func call(
        _ call: DeclaredJob.HTTPCall, payload: JSONValue, http: HTTPClient,
        bearer: @Sendable (String) async throws -> String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> JSONValue {
        guard let method = HTTPMethod(rawValue: call.method) else {
            throw NonRetriableError("unsupported HTTP method \(call.method)")
        }
        // ${NAME} in a header value is the worker's environment variable, read at each call:
        // secrets stay out of config and out of nightshift.functions. A missing one fails the
        // run (no literal "${…}" is ever sent).
        var expanded: [(String, String)] = []
        for (name, value) in call.headers.sorted(by: { $0.key < $1.key }) {
            do {
                expanded.append((name, try DeclaredJob.expand(value, environment: environment)))
            } catch let error as DeclaredJob.ExpansionError {
                throw NonRetriableError("header \"\(name)\" of \(call.method) \(call.url): \(error.description)")
            }
        }
        var headers = HTTPHeaders(expanded)
        if !headers.contains("Authorization") {
            do {
                headers.set("Authorization", "Bearer \(try await bearer(call.url))")
            } catch {
                throw NonRetriableError("\(error)")
            }
        }
        var body: [UInt8] = []
        if method != .get, method != .delete {
            body = Array(try JSONEncoder.nightshift.encode(payload))
            if !headers.contains("Content-Type") { headers.set("Content-Type", "application/json") }
        }
        var request = HTTPRequest(method: method, url: call.url, headers: headers, body: body)
        if let timeout = call.timeout { request.timeout = timeout }
        request.throwOnErrorStatus = false

        let response: HTTPResponse
        do {
            response = try await http.execute(request)
        } catch let error as HTTPClientError {
            if error.isTransient { throw DeclaredJobTransientError(message: "\(error)") }
            throw NonRetriableError("\(error)")
        }
        let excerpt = String(response.text.prefix(512))
        let answer = "\(call.method) \(call.url) answered HTTP \(response.status)\(excerpt.isEmpty ? "" : ": \(excerpt)")"
        if response.status == 429 || response.status >= 500 {
            throw DeclaredJobTransientError(message: answer, httpStatus: response.status)
        }
        if response.status >= 400 {
            throw DeclaredJobFailure(message: answer, httpStatus: response.status)
        }
        if !response.body.isEmpty, let json = try? JSONValue(json: response.text) {
            return json
        }
        return .object(["status": .number(Decimal(response.status))])
    }
}
