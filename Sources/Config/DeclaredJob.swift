import Foundation

/// `[functions."<id>"]` with `sql = "…"` or `http = { … }`: a job declared in config, without
/// Swift (issue 13 §2). The engine runs it as any function: retries, backoff, concurrency limit,
/// catch-up, timeout, runs and attempts recorded. Any other `[functions.*]` entry is an edge
/// function's settings.
public struct DeclaredJob: Sendable, Equatable {
    /// What a run executes.
    public enum Work: Sendable, Equatable {
        /// One statement, in its own transaction, with `statement_timeout` from the job's timeout.
        case sql(String)
        /// One request; the service token goes in `Authorization` unless the headers set it.
        case http(HTTPCall)
    }

    /// `http = { url, method, timeout, headers }`.
    public struct HTTPCall: Sendable, Equatable {
        /// An absolute http(s) URL; the service token goes only to loopback unless
        /// `[auth] allow_remote_service_token`.
        public var url: String
        /// GET, POST, PUT, PATCH or DELETE, in capitals (POST when left out).
        public var method: String
        /// The request's own limit (the HTTP client's default when nil).
        public var timeout: Duration?
        /// Extra request headers; a value may reference the worker's environment as `${NAME}`,
        /// and a credential header must (a literal secret is refused).
        public var headers: [String: String]

        /// A call as config spells it; `method` is taken as given (config upper-cases it).
        public init(url: String, method: String = "POST", timeout: Duration? = nil, headers: [String: String] = [:]) {
            self.url = url
            self.method = method
            self.timeout = timeout
            self.headers = headers
        }
    }

    /// What a cron schedule does with missed slots (`catch_up = "skip" | "latest" | "all"`).
    public enum CatchUp: String, Sendable, Equatable, CaseIterable {
        /// Missed slots are dropped: the next run is the next slot.
        case skip
        /// One run for the newest missed slot (the engine's default).
        case latest
        /// One run per missed slot, oldest first.
        case all
    }

    /// The function id (`ops/refresh-sales-report`).
    public var id: String
    /// The statement or the request each run executes.
    public var work: Work
    /// A 5-field cron expression; nil makes the job run only when triggered (`nightshift run`, the API).
    public var cron: String?
    /// IANA zone of `cron` (UTC when nil).
    public var timezone: String?
    /// Retries after the first attempt (the engine's default when nil).
    public var retries: Int?
    /// At most this many runs at once, across every process (1: a singleton).
    public var maxConcurrency: Int?
    /// What happens to slots missed while nothing ran (the engine's default, `latest`, when nil).
    public var catchUp: CatchUp?
    /// Limit of one attempt (for SQL, the statement's `statement_timeout` too).
    public var timeout: Duration?
    /// The `[notifications.channels.<name>]` alerted once when a run fails for good (`on_failure`).
    public var onFailure: String?

    /// A job as config declares it; nil leaves a setting to the engine's default.
    public init(
        id: String, work: Work, cron: String? = nil, timezone: String? = nil, retries: Int? = nil,
        maxConcurrency: Int? = nil, catchUp: CatchUp? = nil, timeout: Duration? = nil, onFailure: String? = nil
    ) {
        self.id = id
        self.work = work
        self.cron = cron
        self.timezone = timezone
        self.retries = retries
        self.maxConcurrency = maxConcurrency
        self.catchUp = catchUp
        self.timeout = timeout
        self.onFailure = onFailure
    }

    /// A `${NAME}` in a header value that cannot be expanded.
    public struct ExpansionError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// A header value with each `${NAME}` replaced by the environment variable NAME (letters,
    /// digits and `_`, not starting with a digit). The worker expands at each call, so a secret
    /// lives in its environment, never in config or in `nightshift.functions`. Throws, naming
    /// the variable, for one that is not set, and for a `${` that is not a valid reference.
    public static func expand(_ value: String, environment: [String: String]) throws -> String {
        try expand(value) { environment[$0] }
    }

    static func expand(_ value: String, lookup: (String) -> String?) throws -> String {
        guard value.contains("${") else { return value }
        var result = ""
        var rest = Substring(value)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            let after = rest[start.upperBound...]
            guard let end = after.firstIndex(of: "}") else {
                throw ExpansionError(description: "\"${\" without a closing \"}\"")
            }
            let name = String(after[..<end])
            guard name.wholeMatch(of: /[A-Za-z_][A-Za-z0-9_]*/) != nil else {
                throw ExpansionError(description: "\"${\(name)}\" is not a variable reference (use ${NAME}: letters, digits and _)")
            }
            guard let text = lookup(name) else {
                throw ExpansionError(description: "${\(name)} is not set in the worker's environment")
            }
            result += text
            rest = after[after.index(after: end)...]
        }
        return result + rest
    }

    /// Whether a header would carry a credential written out in full: a name that carries
    /// credentials (Authorization, Cookie, X-Api-Key, …token…, …secret…) with no `${NAME}` in
    /// its value. Config and `nightshift.define_function` refuse those: the value would sit in
    /// plain text in `nightshift.functions.body` (readable by the service role, in every backup).
    public static func isLiteralSecret(header name: String, value: String) -> Bool {
        let lower = name.lowercased()
        let sensitive = ["authorization", "proxy-authorization", "cookie"].contains(lower)
            || lower.range(of: "token|secret|api[-_]?key|password", options: .regularExpression) != nil
        return sensitive && !value.contains("${")
    }

    /// The methods an HTTP job may use (as `nightshift._check_body` allows).
    public static let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    /// Whether a `[functions.*]` table declares a job rather than an edge function's settings.
    static func isJob(_ section: TOMLSection) -> Bool {
        section.table.contains(key: "sql") || section.table.contains(key: "http")
    }

    /// Reads and validates one `[functions."<id>"]` job entry; unknown keys are refused.
    static func read(id: String, _ section: inout TOMLSection) throws -> DeclaredJob {
        // The limits the database takes: timeout_ms is an integer of milliseconds.
        let timeouts = Duration.milliseconds(1)...Duration.seconds(24 * 86_400)
        let sql = try section.string("sql")
        let httpSection = try section.section("http")
        let work: Work
        switch (sql, httpSection) {
        case (let sql?, nil):
            let trimmed = sql.trimmingCharacters(in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: ";")))
            if trimmed.isEmpty {
                throw section.error("sql", "must be a statement, got \"\(sql)\"")
            }
            // One statement: it runs in its own transaction with a statement_timeout. Anything
            // after a semicolon but blanks is refused (as nightshift._check_body does).
            if sql.range(of: #";\s*\S"#, options: .regularExpression) != nil {
                throw section.error("sql", "must be one statement (put several in a SQL function and call it), got \"\(sql)\"")
            }
            work = .sql(sql)
        case (nil, var http?):
            guard let url = try http.string("url") else { throw http.error("url", "is missing") }
            guard NightshiftConfig.isHTTPURL(url) else {
                throw http.error("url", "must be an http(s) URL, got \"\(url)\"")
            }
            let method = (try http.string("method") ?? "POST").uppercased()
            guard methods.contains(method) else {
                throw http.error("method", "must be GET, POST, PUT, PATCH or DELETE, got \"\(method)\"")
            }
            var call = HTTPCall(url: url, method: method, timeout: try http.duration("timeout", range: timeouts))
            if var headers = try http.section("headers") {
                for name in headers.table.keys.sorted() {
                    let value = try headers.string(name) ?? ""
                    if isLiteralSecret(header: name, value: value) {
                        throw headers.error(name, "holds a credential in plain text: reference the worker's environment instead, e.g. \"Bearer ${CRM_TOKEN}\"")
                    }
                    // The references' syntax now; the variables are the worker's, at each call.
                    do {
                        _ = try expand(value) { _ in "" }
                    } catch let error as ExpansionError {
                        throw headers.error(name, error.description)
                    }
                    call.headers[name] = value
                }
                try headers.rejectUnknownKeys()
            }
            try http.rejectUnknownKeys()
            work = .http(call)
        case (.some, .some):
            throw section.error("http", "a job has either sql or http, not both")
        case (nil, nil):
            throw section.error("sql", "is missing (a job needs sql or http)")
        }

        var job = DeclaredJob(id: id, work: work)
        job.cron = try section.string("cron")
        job.timezone = try section.string("timezone")
        job.retries = try section.int("retries", range: 0...100)
        job.maxConcurrency = try section.int("max_concurrency", range: 1...10_000)
        if let text = try section.string("catch_up") {
            guard let catchUp = CatchUp(rawValue: text) else {
                throw section.error("catch_up", "must be skip, latest or all, got \"\(text)\"")
            }
            job.catchUp = catchUp
        }
        job.timeout = try section.duration("timeout", range: timeouts)
        // Checked against [notifications.channels] once the whole file is read (validate()).
        job.onFailure = try section.string("on_failure")
        if job.timezone != nil, job.cron == nil {
            throw section.error("timezone", "has no cron to apply to")
        }
        if job.catchUp != nil, job.cron == nil {
            throw section.error("catch_up", "has no cron to apply to")
        }
        try section.rejectUnknownKeys()
        return job
    }
}
