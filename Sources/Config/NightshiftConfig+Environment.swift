import Foundation

extension NightshiftConfig {
    /// Applies environment overrides: `DATABASE_URL`, `DATABASE_OWNER_URL`, `NIGHTSHIFT_*` (`NIGHTSHIFT_WEBHOOK_SECRET_<CHANNEL>` too),
    /// OpenTelemetry's `OTEL_EXPORTER_OTLP_ENDPOINT` and `ENABLE_SCHEDULED_JOBS`; then each section's own variables.
    mutating func applyEnvironment(_ environment: [String: String]) throws {
        let reader = ConfigEnvironment(environment: environment)

        if let value = reader.string("NIGHTSHIFT_PROJECT_ID") { projectID = value }
        if let port = try reader.int("NIGHTSHIFT_DB_PORT", range: 1...65535) {
            database.port = port
            database.url = Self.replacingPort(in: database.url, with: port)
            database.ownerURL = database.ownerURL.map { Self.replacingPort(in: $0, with: port) }
        }
        // DATABASE_URL names one database for everything, migrations included, unless
        // DATABASE_OWNER_URL gives migrations their own login: a URL of the file must never
        // send migrations to another database than the one the environment names.
        if let url = reader.string("DATABASE_URL") {
            database.url = url
            database.ownerURL = nil
        }
        if let url = reader.string("DATABASE_OWNER_URL") { database.ownerURL = url }
        if let size = try reader.int("NIGHTSHIFT_DB_POOL_SIZE", range: 1...1000) { database.poolSize = size }
        if let prepared = try reader.bool("NIGHTSHIFT_DB_PREPARED_STATEMENTS") { database.preparedStatements = prepared }
        if let host = reader.string("NIGHTSHIFT_API_HOST") { api.host = host }
        if let port = try reader.int("NIGHTSHIFT_API_PORT", range: 0...65535) { api.port = port }
        if let bytes = try reader.int("NIGHTSHIFT_API_MAX_BODY_BYTES", range: 1...1_073_741_824) { api.maxBodyBytes = bytes }
        if let secret = reader.string("NIGHTSHIFT_JWT_SECRET") { auth.jwtSecret = secret }
        if let key = reader.string("NIGHTSHIFT_ANON_KEY") { auth.anonKey = key }
        if let key = reader.string("NIGHTSHIFT_SERVICE_ROLE_KEY") { auth.serviceRoleKey = key }
        if let path = reader.string("NIGHTSHIFT_JWKS_PATH") { auth.jwksPath = path }
        if let cap = try reader.int("NIGHTSHIFT_NOTIFICATIONS_DAILY_CAP", range: 0...100_000) {
            notifications.dailyCapPerUser = cap
        }
        if let zone = reader.string("NIGHTSHIFT_NOTIFICATIONS_CAP_TIMEZONE") {
            guard isKnownTimeZone(zone) else {
                throw ConfigError(key: "NIGHTSHIFT_NOTIFICATIONS_CAP_TIMEZONE", source: "environment",
                                  problem: "\"\(zone)\" is not an IANA time zone name (such as UTC or Asia/Riyadh)")
            }
            notifications.capTimeZone = zone
        }
        try applyWebhookSecrets(reader)
        // OpenTelemetry's own name, so a deployment that sets it for every service needs nothing else.
        if let endpoint = reader.string("OTEL_EXPORTER_OTLP_ENDPOINT") { observability.otlpEndpoint = endpoint }

        if let enabled = try reader.bool("ENABLE_SCHEDULED_JOBS") { scheduler.enabled = enabled }
        for name in sections.keys.sorted() {
            guard var section = sections[name] else { continue }
            try section.applyEnvironment(reader, jobs: &jobs)
            sections[name] = section
        }
    }

    private static func replacingPort(in url: String, with port: Int) -> String {
        guard var components = URLComponents(string: url), components.host != nil else { return url }
        components.port = port
        return components.string ?? url
    }
}

/// Typed reads of environment variables, with errors that name the variable.
public struct ConfigEnvironment: Sendable {
    /// The variables, usually the process's.
    public let environment: [String: String]

    /// Reads `environment` (`ProcessInfo.processInfo.environment` in a process; a literal in tests).
    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// An error naming the variable.
    public func error(_ name: String, _ problem: String) -> ConfigError {
        ConfigError(key: name, source: "environment", problem: problem)
    }

    /// The variable's value; unset and empty are both nil.
    public func string(_ name: String) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// An integer in `range`, or nil when unset.
    public func int(_ name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let raw = string(name) else { return nil }
        guard let value = Int(raw.trimmingCharacters(in: .whitespaces)) else {
            throw error(name, "must be an integer, got \"\(raw)\"")
        }
        guard range.contains(value) else {
            throw error(name, "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }

    /// true/1/yes/on or false/0/no/off (any case), or nil when unset.
    public func bool(_ name: String) throws -> Bool? {
        guard let raw = string(name) else { return nil }
        switch raw.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw error(name, "must be true or false, got \"\(raw)\"")
        }
    }
}
