import Foundation
import TOMLKit

extension NightshiftConfig {
    /// The config file used when none is given: `NIGHTSHIFT_CONFIG`, else the project's own.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        environment["NIGHTSHIFT_CONFIG"] ?? "supabase-like-config/config.toml"
    }

    /// Reads and validates the config file, then applies the environment's overrides.
    /// `sections` are the packs' tables this config may hold (a table no type claims is refused).
    public static func load(
        path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        sections: [any ConfigSection.Type] = []
    ) throws -> NightshiftConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(key: "(file)", source: path, problem: "cannot be read: \(error.localizedDescription)")
        }
        return try parse(text, source: path, environment: environment, sections: sections)
    }

    /// Parses config text; `source` names it in errors.
    public static func parse(
        _ text: String,
        source: String,
        environment: [String: String] = [:],
        sections: [any ConfigSection.Type] = []
    ) throws -> NightshiftConfig {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(
                key: "(syntax)", source: source,
                problem: "\(error.description) at line \(error.source.begin.line), column \(error.source.begin.column)")
        }
        var config = try read(TOMLSection(table, path: "", file: source), sections: sections)
        try config.applyEnvironment(environment)
        try config.loadJWKS()
        try config.validate()
        return config
    }

    private static func read(_ root: TOMLSection, sections sectionTypes: [any ConfigSection.Type]) throws -> NightshiftConfig {
        var root = root
        let projectID = try root.string("project_id") ?? "nightshift"

        var db = try root.section("db")
        var database = DatabaseSettings(
            url: try db?.string("url") ?? "postgresql://nightshift_app@127.0.0.1:54329/nightshift",
            port: try db?.int("port", range: 1...65535) ?? 54329,
            poolSize: try db?.int("pool_size", range: 1...1000) ?? 8)
        database.ownerURL = try db?.string("owner_url")
        let timeouts = Duration.milliseconds(1)...Duration.seconds(24 * 3600)
        if let value = try db?.duration("api_statement_timeout", range: timeouts) { database.apiStatementTimeout = value }
        if let value = try db?.duration("worker_statement_timeout", range: timeouts) { database.workerStatementTimeout = value }
        if let value = try db?.duration("idle_in_transaction_timeout", range: timeouts) { database.idleInTransactionTimeout = value }
        if let value = try db?.duration("idle_timeout", range: .seconds(1)...Duration.seconds(24 * 3600)) { database.idleTimeout = value }
        if let value = try db?.int("min_idle", range: 0...1000) { database.minIdle = value }
        if let value = try db?.bool("prepared_statements") { database.preparedStatements = value }
        try db?.rejectUnknownKeys()

        var apiSection = try root.section("api")
        var api = APISettings(
            host: try apiSection?.string("host") ?? "127.0.0.1",
            port: try apiSection?.int("port", range: 0...65535) ?? 54321,
            maxBodyBytes: try apiSection?.int("max_body_bytes", range: 1...1_073_741_824) ?? 1_048_576)
        let apiTimeouts = Duration.milliseconds(100)...Duration.seconds(3600)
        if let value = try apiSection?.duration("idle_timeout", range: apiTimeouts) { api.idleTimeout = value }
        if let value = try apiSection?.duration("request_timeout", range: apiTimeouts) { api.requestTimeout = value }
        if let value = try apiSection?.int("max_header_bytes", range: 1024...1_048_576) { api.maxHeaderBytes = value }
        if let value = try apiSection?.int("writes_per_minute", range: 0...1_000_000) { api.writesPerMinute = value }
        try apiSection?.rejectUnknownKeys()

        var authSection = try root.section("auth")
        let auth = try AuthSettings.read(&authSection)

        var schedulerSection = try root.section("scheduler")
        var scheduler = SchedulerSettings(enabled: try schedulerSection?.bool("enabled") ?? true)
        let days = Duration.seconds(86_400)
        scheduler.retention = try schedulerSection?.duration("retention", range: .zero...(days * 36_500))
        scheduler.pruneEvery = try schedulerSection?.duration("prune_every", range: .seconds(1)...(days * 365))
        scheduler.retiredGrace = try schedulerSection?.duration("retired_grace", range: .zero...(days * 36_500))
        try schedulerSection?.rejectUnknownKeys()

        var jobs: [String: JobSettings] = [:]
        if var jobsSection = try root.section("jobs") {
            for (id, var job) in try jobsSection.sections() {
                jobs[id] = JobSettings(
                    cron: try job.string("cron"),
                    timezone: try job.string("timezone"),
                    enabled: try job.bool("enabled"),
                    retries: try job.int("retries", range: 0...100),
                    maxConcurrency: try job.int("max_concurrency", range: 1...10_000))
                try job.rejectUnknownKeys()
            }
        }

        var functions: [String: FunctionSettings] = [:]
        var declaredJobs: [String: DeclaredJob] = [:]
        if var functionsSection = try root.section("functions") {
            for (name, var function) in try functionsSection.sections() {
                // `sql = …` or `http = …` makes the entry a job; anything else is an edge function's.
                if DeclaredJob.isJob(function) {
                    declaredJobs[name] = try DeclaredJob.read(id: name, &function)
                    continue
                }
                functions[name] = FunctionSettings(verifyJWT: try function.bool("verify_jwt") ?? true)
                try function.rejectUnknownKeys()
            }
        }

        var notificationsSection = try root.section("notifications")
        var channels: [String: ChannelSettings] = [:]
        if var channelsSection = try notificationsSection?.section("channels") {
            for (name, var channel) in try channelsSection.sections() {
                guard let url = try channel.string("webhook_url") else {
                    throw channel.error("webhook_url", "is missing")
                }
                var settings = ChannelSettings(webhookURL: url)
                if let text = try channel.string("webhook_secret") {
                    do {
                        settings.webhookSecret = try WebhookSecret(parsing: text)
                    } catch {
                        throw channel.error("webhook_secret", error.problem)
                    }
                }
                channels[name] = settings
                try channel.rejectUnknownKeys()
            }
        }
        var notifications = NotificationSettings(
            dailyCapPerUser: try notificationsSection?.int("daily_cap_per_user", range: 0...100_000) ?? 10,
            channels: channels)
        if let zone = try notificationsSection?.string("cap_timezone") {
            guard isKnownTimeZone(zone) else {
                throw notificationsSection!.error("cap_timezone", "\"\(zone)\" is not an IANA time zone name (such as UTC or Asia/Riyadh)")
            }
            notifications.capTimeZone = zone
        }
        try notificationsSection?.rejectUnknownKeys()

        var observabilitySection = try root.section("observability")
        let observability = ObservabilitySettings(otlpEndpoint: try observabilitySection?.string("otlp_endpoint"))
        try observabilitySection?.rejectUnknownKeys()

        var sections: [String: any ConfigSection] = [:]
        for type in sectionTypes {
            guard sections[type.name] == nil else {
                throw ConfigError(key: type.name, source: root.file, problem: "two config sections share this name")
            }
            sections[type.name] = try readSection(type, from: &root)
        }

        if let unknown = root.unreadKey() {
            throw root.error(unknown, root.isTable(unknown) ? "unknown key: no pack of this build reads a [\(unknown)] table" : "unknown key")
        }
        var config = NightshiftConfig(
            projectID: projectID, database: database, api: api, auth: auth, scheduler: scheduler,
            jobs: jobs, functions: functions, notifications: notifications, observability: observability,
            source: root.file)
        config.declaredJobs = declaredJobs
        config.sections = sections
        return config
    }

    /// One pack's table, or its defaults when the file has none; its unread keys are refused.
    private static func readSection<S: ConfigSection>(_ type: S.Type, from root: inout TOMLSection) throws -> S {
        guard var table = try root.section(S.name) else { return S() }
        let value = try S(reading: &table)
        try table.rejectUnknownKeys()
        return value
    }

    /// Checks what no single key can: secrets present and strong enough, URLs usable.
    func validate() throws {
        func fail(_ key: String, _ problem: String) -> ConfigError {
            ConfigError(key: key, source: source, problem: problem)
        }
        try validateAuth()
        if database.url.isEmpty {
            throw fail("db.url", "is missing (set it in the file or DATABASE_URL)")
        }
        try validateWebhooks()
        for job in declaredJobs.values.sorted(by: { $0.id < $1.id }) {
            guard let channel = job.onFailure, notifications.channels[channel] == nil else { continue }
            let configured = notifications.channels.keys.sorted()
            throw fail(
                "functions.\(TOMLSection.quotedKey(job.id)).on_failure",
                "names no [notifications.channels.\(TOMLSection.quotedKey(channel))] (configured: \(configured.isEmpty ? "none" : configured.joined(separator: ", ")))")
        }
        if let endpoint = observability.otlpEndpoint, !Self.isHTTPURL(endpoint) {
            throw fail("observability.otlp_endpoint", "must be an http(s) URL (set it in the file or OTEL_EXPORTER_OTLP_ENDPOINT), got \"\(endpoint)\"")
        }
        for name in sections.keys.sorted() { try sections[name]?.validate(source: source) }
    }

    /// Whether `text` is an absolute http(s) URL with a host (what every URL setting must be).
    public static func isHTTPURL(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme else { return false }
        return ["http", "https"].contains(scheme.lowercased()) && url.host != nil
    }
}
