import Foundation

extension NightshiftConfig {
    /// Function ids whose schedule the seed documents' own variables set.
    public enum SeedJob {
        public static let overnightScoring = "portfolio/overnight-scoring"
        public static let coverageRecompute = "coverage/nightly-recompute"
        public static let refreshHealthScores = "dossier/refresh-health-scores"
        public static let detectOverdueCommitments = "dossier/detect-overdue-commitments"
    }

    /// Applies environment overrides: `DATABASE_URL`, `DATABASE_OWNER_URL`, `NIGHTSHIFT_*` (`NIGHTSHIFT_WEBHOOK_SECRET_<CHANNEL>` too), OpenTelemetry's
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, `COVERAGE_JOB_CRON`, `PORTFOLIO_RATES_URL`, `PORTFOLIO_PRICES_URL`, and the seed documents' `OVERNIGHT_JOB_CRON`,
    /// `ENABLE_SCHEDULED_JOBS`, `HEALTH_REFRESH_INTERVAL_MINUTES`, `OVERDUE_CHECK_HOUR`.
    mutating func applyEnvironment(_ environment: [String: String]) throws {
        let reader = EnvironmentReader(environment: environment)

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
        try applyWebhookSecrets(reader)
        // OpenTelemetry's own name, so a deployment that sets it for every service needs nothing else.
        if let endpoint = reader.string("OTEL_EXPORTER_OTLP_ENDPOINT") { observability.otlpEndpoint = endpoint }

        if let url = reader.string("PORTFOLIO_RATES_URL") { portfolio.ratesURL = url }
        if let url = reader.string("PORTFOLIO_PRICES_URL") { portfolio.pricesURL = url }

        if let enabled = try reader.bool("ENABLE_SCHEDULED_JOBS") { scheduler.enabled = enabled }
        if let cron = reader.string("COVERAGE_JOB_CRON") {
            jobs[SeedJob.coverageRecompute, default: JobSettings()].cron = cron
        }
        if let cron = reader.string("OVERNIGHT_JOB_CRON") {
            jobs[SeedJob.overnightScoring, default: JobSettings()].cron = cron
        }
        if let minutes = try reader.int("HEALTH_REFRESH_INTERVAL_MINUTES", range: 1...60) {
            jobs[SeedJob.refreshHealthScores, default: JobSettings()].cron =
                minutes == 60 ? "0 * * * *" : "*/\(minutes) * * * *"
        }
        if let hour = try reader.int("OVERDUE_CHECK_HOUR", range: 0...23) {
            jobs[SeedJob.detectOverdueCommitments, default: JobSettings()].cron = "0 \(hour) * * *"
        }
    }

    private static func replacingPort(in url: String, with port: Int) -> String {
        guard var components = URLComponents(string: url), components.host != nil else { return url }
        components.port = port
        return components.string ?? url
    }
}

/// Typed reads of environment variables, with errors that name the variable.
struct EnvironmentReader {
    let environment: [String: String]

    func error(_ name: String, _ problem: String) -> ConfigError {
        ConfigError(key: name, source: "environment", problem: problem)
    }

    func string(_ name: String) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }

    func int(_ name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let raw = string(name) else { return nil }
        guard let value = Int(raw.trimmingCharacters(in: .whitespaces)) else {
            throw error(name, "must be an integer, got \"\(raw)\"")
        }
        guard range.contains(value) else {
            throw error(name, "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }

    func bool(_ name: String) throws -> Bool? {
        guard let raw = string(name) else { return nil }
        switch raw.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw error(name, "must be true or false, got \"\(raw)\"")
        }
    }
}
