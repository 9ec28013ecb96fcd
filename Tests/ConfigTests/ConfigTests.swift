import CoveragePack
import DossierPack
import Foundation
import PortfolioPack
import Testing

@testable import Config

/// The tables of this repository's packs, as the `nightshift` binary loads the config.
let packSections: [any ConfigSection.Type] = [DossierSettings.self, CoverageSettings.self, PortfolioSettings.self]

extension NightshiftConfig {
    static func parseWithPacks(_ text: String, source: String, environment: [String: String] = [:]) throws -> NightshiftConfig {
        try parse(text, source: source, environment: environment, sections: packSections)
    }

    static func loadWithPacks(path: String, environment: [String: String]) throws -> NightshiftConfig {
        try load(path: path, environment: environment, sections: packSections)
    }
}

/// The smallest valid config, with the development secrets.
let minimal = """
    project_id = "t"
    [auth]
    jwt_secret = "0123456789abcdef0123456789abcdef"
    anon_key = "a"
    service_role_key = "s"
    """

func parseError(_ text: String, environment: [String: String] = [:]) -> ConfigError? {
    do {
        _ = try NightshiftConfig.parseWithPacks(text, source: "test.toml", environment: environment)
        return nil
    } catch let error as ConfigError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

@Suite("config file")
struct ConfigFileTests {
    static let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("the committed config parses and holds every section")
    func committedConfig() throws {
        let path = Self.projectRoot.appendingPathComponent("supabase-like-config/config.toml").path
        let config = try NightshiftConfig.loadWithPacks(path: path, environment: [:])
        #expect(config.projectID == "nightshift-local")
        #expect(config.database.port == 54329)
        #expect(config.api.port == 54321)
        #expect(config.auth.jwtSecret.hasPrefix("dev-only-"))
        #expect(config.jobs["dossier/detect-overdue-commitments"]?.timezone == nil, "the pack's [dossier] timezone decides")
        #expect(config.section(DossierSettings.self).timeZone == "Asia/Riyadh")
        #expect(config.notifications.capTimeZone == "UTC")
        #expect(config.functions["hello"]?.verifyJWT == true)
        #expect(config.notifications.dailyCapPerUser == 10)
        #expect(config.notifications.channels["ops"]?.webhookURL.hasPrefix("http://127.0.0.1") == true)
        #expect(config.observability.otlpEndpoint == nil, "the committed config exports no traces")
        #expect(config.section(PortfolioSettings.self).ratesURL == "http://127.0.0.1:54331")
        #expect(config.section(PortfolioSettings.self).usersPerBatch == 50)
    }

    @Test("defaults fill what the file leaves out")
    func defaults() throws {
        let config = try NightshiftConfig.parseWithPacks(minimal, source: "test.toml")
        #expect(config.api.maxBodyBytes == 1_048_576)
        #expect(config.scheduler.enabled)
        #expect(config.functionSettings("anything").verifyJWT)
        #expect(config.observability.otlpEndpoint == nil)
    }

    @Test("[observability] otlp_endpoint is read")
    func otlpEndpoint() throws {
        let config = try NightshiftConfig.parseWithPacks(minimal + "\n[observability]\notlp_endpoint = \"http://collector.test:4318\"\n", source: "test.toml")
        #expect(config.observability.otlpEndpoint == "http://collector.test:4318")
    }

    @Test("an OTLP endpoint that is not an http URL is refused", arguments: ["collector:4318", "grpc://collector:4317", "42"])
    func badOTLPEndpoint(value: String) {
        let text = value == "42" ? "otlp_endpoint = 42" : "otlp_endpoint = \"\(value)\""
        let error = parseError(minimal + "\n[observability]\n\(text)\n")
        #expect(error?.key == "observability.otlp_endpoint")
        #expect(error?.source == "test.toml")
    }

    @Test("[portfolio] is read, defaults fill the rest, and PORTFOLIO_*_URL override it")
    func portfolio() throws {
        let unset = try NightshiftConfig.parseWithPacks(minimal, source: "test.toml")
        #expect(unset.section(PortfolioSettings.self) == PortfolioSettings(), "no provider configured: the job says so when it runs")
        let text = minimal + "\n[portfolio]\nrates_url = \"http://rates.test\"\nprices_url = \"https://prices.test/v1\"\nusers_per_batch = 10\n"
        let file = try NightshiftConfig.parseWithPacks(text, source: "test.toml")
        #expect(file.section(PortfolioSettings.self) == PortfolioSettings(ratesURL: "http://rates.test", pricesURL: "https://prices.test/v1", usersPerBatch: 10))
        let environment = ["PORTFOLIO_RATES_URL": "http://env-rates.test", "PORTFOLIO_PRICES_URL": "http://env-prices.test"]
        let overridden = try NightshiftConfig.parseWithPacks(text, source: "test.toml", environment: environment)
        #expect(overridden.section(PortfolioSettings.self).ratesURL == "http://env-rates.test")
        #expect(overridden.section(PortfolioSettings.self).pricesURL == "http://env-prices.test")
    }

    @Test("a pack's table is the pack's: without its section type the core refuses it, and an unknown table is named")
    func packTables() throws {
        let text = minimal + "\n[portfolio]\nrates_url = \"http://rates.test\"\n"
        #expect(throws: ConfigError(key: "portfolio", source: "test.toml", problem: "unknown key: no pack of this build reads a [portfolio] table")) {
            try NightshiftConfig.parse(text, source: "test.toml")
        }
        #expect(try NightshiftConfig.parse(text, source: "test.toml", sections: [PortfolioSettings.self])
            .section(PortfolioSettings.self).ratesURL == "http://rates.test")
        #expect(parseError(minimal + "\n[billing]\nx = 1\n")?.problem == "unknown key: no pack of this build reads a [billing] table")
        #expect(parseError(minimal + "\nstray = 1\n")?.problem == "unknown key")
        #expect(throws: ConfigError.self) {
            try NightshiftConfig.parse(minimal, source: "test.toml", sections: [PortfolioSettings.self, PortfolioSettings.self])
        }
    }

    @Test("a bad [portfolio] value names its key", arguments: [
        ("rates_url = \"ftp://rates.test\"", "portfolio.rates_url"),
        ("prices_url = \"prices\"", "portfolio.prices_url"),
        ("rates_base = \"usd\"", "portfolio.rates_base"),
        ("users_per_batch = 0", "portfolio.users_per_batch"),
        ("rate_url = \"http://x.test\"", "portfolio.rate_url"),
    ])
    func badPortfolio(line: String, key: String) {
        #expect(parseError(minimal + "\n[portfolio]\n\(line)\n")?.key == key)
    }

    @Test("[db] timeouts and pool sizes are durations with units, defaults otherwise")
    func databaseTimeouts() throws {
        let defaults = try NightshiftConfig.parseWithPacks(minimal, source: "test.toml", environment: [:]).database
        #expect(defaults.apiStatementTimeout == .seconds(30))
        #expect(defaults.workerStatementTimeout == .seconds(900))
        #expect(defaults.idleInTransactionTimeout == .seconds(60))
        #expect(defaults.idleTimeout == .seconds(60) && defaults.minIdle == 1)
        let set = try NightshiftConfig.parseWithPacks(minimal + """

            [db]
            api_statement_timeout = "250ms"
            worker_statement_timeout = "10m"
            idle_in_transaction_timeout = "1h"
            idle_timeout = "90s"
            min_idle = 0
            """, source: "test.toml", environment: [:]).database
        #expect(set.apiStatementTimeout == .milliseconds(250))
        #expect(set.workerStatementTimeout == .seconds(600))
        #expect(set.idleInTransactionTimeout == .seconds(3600))
        #expect(set.idleTimeout == .seconds(90) && set.minIdle == 0)
    }

    @Test("[db] prepared_statements: on by default, off from the file or the environment, a non-boolean named")
    func preparedStatements() throws {
        #expect(try NightshiftConfig.parseWithPacks(minimal, source: "test.toml", environment: [:]).database.preparedStatements)
        let off = minimal + "\n[db]\nprepared_statements = false\n"
        #expect(try !NightshiftConfig.parseWithPacks(off, source: "test.toml", environment: [:]).database.preparedStatements)
        #expect(try !NightshiftConfig.parseWithPacks(
            minimal, source: "test.toml", environment: ["NIGHTSHIFT_DB_PREPARED_STATEMENTS": "off"]).database.preparedStatements)
        #expect(try NightshiftConfig.parseWithPacks(
            off, source: "test.toml", environment: ["NIGHTSHIFT_DB_PREPARED_STATEMENTS": "true"]).database.preparedStatements)
        #expect(parseError(minimal + "\n[db]\nprepared_statements = \"no\"\n")?.key == "db.prepared_statements")
        #expect(parseError(minimal, environment: ["NIGHTSHIFT_DB_PREPARED_STATEMENTS": "sometimes"])?.key == "NIGHTSHIFT_DB_PREPARED_STATEMENTS")
    }

    @Test("[scheduler] housekeeping: retention, prune_every and retired_grace, in days too")
    func schedulerHousekeeping() throws {
        let unset = try NightshiftConfig.parseWithPacks(minimal, source: "test.toml", environment: [:]).scheduler
        #expect(unset.retention == nil && unset.pruneEvery == nil && unset.retiredGrace == nil, "the database's own values stay")
        let set = try NightshiftConfig.parseWithPacks(minimal + """

            [scheduler]
            retention = "30d"
            prune_every = "5m"
            retired_grace = "0s"
            """, source: "test.toml", environment: [:]).scheduler
        #expect(set.retention == .seconds(30 * 86_400))
        #expect(set.pruneEvery == .seconds(300))
        #expect(set.retiredGrace == .zero)
        #expect(parseError(minimal + "\n[scheduler]\nprune_every = \"0s\"\n")?.key == "scheduler.prune_every")
        #expect(parseError(minimal + "\n[scheduler]\nretention = \"2 weeks\"\n")?.key == "scheduler.retention")
    }

    @Test("a bad [db] duration names its key and says the form", arguments: [
        ("api_statement_timeout = \"15\"", "db.api_statement_timeout", "must be a duration"),
        ("worker_statement_timeout = \"ten minutes\"", "db.worker_statement_timeout", "must be a duration"),
        ("idle_timeout = \"0s\"", "db.idle_timeout", "must be between"),
        ("api_statement_timeout = 15", "db.api_statement_timeout", "must be a string"),
    ])
    func badDuration(line: String, key: String, problem: String) {
        let error = parseError(minimal + "\n[db]\n\(line)\n")
        #expect(error?.key == key)
        #expect(error?.problem.contains(problem) == true, "\(String(describing: error))")
    }

    @Test("a value of the wrong type names its key and the file")
    func wrongType() {
        let error = parseError(minimal + "\n[api]\nport = \"eighty\"\n")
        #expect(error?.key == "api.port")
        #expect(error?.source == "test.toml")
        #expect(error?.description.contains("must be an integer") == true)
    }

    @Test("an unknown key is refused by name", arguments: [
        ("\n[api]\nportt = 1\n", "api.portt"),
        ("\nextra = true\n", "extra"),
        ("\n[jobs.\"coverage/nightly-recompute\"]\ncrn = \"* * * * *\"\n", "jobs.\"coverage/nightly-recompute\".crn"),
        ("\n[functions.hello]\nverify = true\n", "functions.hello.verify"),
        ("\n[notifications.channels.ops]\nwebhook_url = \"http://x.test/\"\nsecret = 1\n", "notifications.channels.ops.secret"),
        ("\n[observability]\notlp_endpoint = \"http://x.test:4318\"\nsampler = \"always_on\"\n", "observability.sampler"),
    ])
    func unknownKey(snippet: String, key: String) {
        // A root key must come before the first table; a table can go after the rest.
        let error = parseError(snippet.hasPrefix("\n[") ? minimal + snippet : snippet + "\n" + minimal)
        #expect(error?.key == key)
        #expect(error?.problem == "unknown key")
    }

    @Test("an out-of-range value says the range")
    func outOfRange() {
        let error = parseError(minimal + "\n[api]\nport = 70000\n")
        #expect(error?.key == "api.port")
        #expect(error?.problem.contains("between 0 and 65535") == true)
    }

    @Test("a missing secret stops start-up, naming the key", arguments: ["jwt_secret", "anon_key", "service_role_key"])
    func missingSecret(key: String) {
        let text = minimal.split(separator: "\n").filter { !$0.hasPrefix(key) }.joined(separator: "\n")
        let error = parseError(text)
        #expect(error?.key == "auth.\(key)")
        #expect(error?.problem.contains("missing") == true)
    }

    @Test("a short JWT secret is refused")
    func shortSecret() {
        let error = parseError(minimal.replacingOccurrences(of: "0123456789abcdef0123456789abcdef", with: "short"))
        #expect(error?.key == "auth.jwt_secret")
    }

    @Test("a TOML syntax error says where")
    func syntaxError() {
        let error = parseError(minimal + "\n[api\nport = 1\n")
        #expect(error?.key == "(syntax)")
        // The minimal config is five lines; the broken header is the sixth.
        #expect(error?.problem.contains("line 6") == true, "\(String(describing: error))")
    }

    @Test("a webhook that is not an http URL is refused")
    func badWebhook() {
        let error = parseError(minimal + "\n[notifications.channels.ops]\nwebhook_url = \"ftp://x\"\n")
        #expect(error?.key == "notifications.channels.ops.webhook_url")
    }

    @Test("[dossier] timezone: Asia/Riyadh by default, an IANA name when set, anything else refused naming the key")
    func dossierTimeZone() throws {
        #expect(try NightshiftConfig.parseWithPacks(minimal, source: "test.toml").section(DossierSettings.self).timeZone == "Asia/Riyadh")
        let paris = try NightshiftConfig.parseWithPacks(minimal + "\n[dossier]\ntimezone = \"Europe/Paris\"\n", source: "test.toml")
        #expect(paris.section(DossierSettings.self).timeZone == "Europe/Paris")
        for zone in ["Riyadh", "Mars/Olympus_Mons", "", "Asia/ Riyadh"] {
            let error = parseError(minimal + "\n[dossier]\ntimezone = \"\(zone)\"\n")
            #expect(error?.key == "dossier.timezone", "\(zone)")
            #expect(error?.problem.contains("not an IANA time zone name") == true, "\(String(describing: error))")
        }
        #expect(parseError(minimal + "\n[dossier]\ntimezone = 3\n")?.key == "dossier.timezone")
    }

    @Test("[notifications] cap_timezone: UTC by default, an IANA name when set (or NIGHTSHIFT_NOTIFICATIONS_CAP_TIMEZONE), else refused by name")
    func capTimeZone() throws {
        #expect(try NightshiftConfig.parseWithPacks(minimal, source: "test.toml").notifications.capTimeZone == "UTC")
        let riyadh = try NightshiftConfig.parseWithPacks(minimal + "\n[notifications]\ncap_timezone = \"Asia/Riyadh\"\n", source: "test.toml")
        #expect(riyadh.notifications.capTimeZone == "Asia/Riyadh")
        let error = parseError(minimal + "\n[notifications]\ncap_timezone = \"Nowhere\"\n")
        #expect(error?.key == "notifications.cap_timezone")
        let fromEnvironment = try NightshiftConfig.parseWithPacks(
            minimal, source: "test.toml", environment: ["NIGHTSHIFT_NOTIFICATIONS_CAP_TIMEZONE": "Europe/Paris"])
        #expect(fromEnvironment.notifications.capTimeZone == "Europe/Paris")
        #expect(parseError(minimal, environment: ["NIGHTSHIFT_NOTIFICATIONS_CAP_TIMEZONE": "Nowhere"])?.key
                == "NIGHTSHIFT_NOTIFICATIONS_CAP_TIMEZONE")
    }
}

@Suite("environment overrides")
struct EnvironmentOverrideTests {
    @Test("DATABASE_URL, NIGHTSHIFT_* and the seed variables override the file")
    func overrides() throws {
        let config = try NightshiftConfig.parseWithPacks(minimal, source: "test.toml", environment: [
            "DATABASE_URL": "postgresql://u@db.test:5432/x",
            "NIGHTSHIFT_API_PORT": "8080",
            "NIGHTSHIFT_JWT_SECRET": "fedcba9876543210fedcba9876543210",
            "ENABLE_SCHEDULED_JOBS": "false",
            "OVERNIGHT_JOB_CRON": "30 5 * * 1-5",
            "COVERAGE_JOB_CRON": "15 1 * * *",
            "HEALTH_REFRESH_INTERVAL_MINUTES": "5",
            "OVERDUE_CHECK_HOUR": "3",
        ])
        #expect(config.database.url == "postgresql://u@db.test:5432/x")
        #expect(config.api.port == 8080)
        #expect(config.auth.jwtSecret == "fedcba9876543210fedcba9876543210")
        #expect(config.scheduler.enabled == false)
        #expect(config.jobs["portfolio/overnight-scoring"]?.cron == "30 5 * * 1-5")
        #expect(config.jobs["coverage/nightly-recompute"]?.cron == "15 1 * * *")
        #expect(config.jobs["dossier/refresh-health-scores"]?.cron == "*/5 * * * *")
        #expect(config.jobs["dossier/detect-overdue-commitments"]?.cron == "0 3 * * *")
    }

    @Test("NIGHTSHIFT_DB_PORT moves the configured URL to that port")
    func databasePort() throws {
        let config = try NightshiftConfig.parseWithPacks(
            minimal + "\n[db]\nurl = \"postgresql://postgres@127.0.0.1:54329/nightshift\"\n",
            source: "test.toml", environment: ["NIGHTSHIFT_DB_PORT": "6000"])
        #expect(config.database.url == "postgresql://postgres@127.0.0.1:6000/nightshift")
    }

    @Test("[api] limits: idle and request timeouts, header bytes, writes per minute; defaults otherwise; out of range named")
    func apiLimits() throws {
        let config = try NightshiftConfig.parseWithPacks(minimal + """

            [api]
            idle_timeout = "5s"
            request_timeout = "2s"
            max_header_bytes = 4096
            writes_per_minute = 0
            """, source: "test.toml")
        #expect(config.api.idleTimeout == .seconds(5))
        #expect(config.api.requestTimeout == .seconds(2))
        #expect(config.api.maxHeaderBytes == 4096)
        #expect(config.api.writesPerMinute == 0)
        let defaults = try NightshiftConfig.parseWithPacks(minimal, source: "test.toml").api
        #expect(defaults.idleTimeout == .seconds(60) && defaults.requestTimeout == .seconds(30))
        #expect(defaults.maxHeaderBytes == 16_384 && defaults.writesPerMinute == 120)
        let error = parseError(minimal + "\n[api]\nmax_header_bytes = 10\n")
        #expect(error?.key == "api.max_header_bytes")
    }

    @Test("migrations log in as [db] owner_url; DATABASE_URL names one database for both unless DATABASE_OWNER_URL splits them")
    func ownerURL() throws {
        let file = minimal + """

            [db]
            url = "postgresql://nightshift_app@127.0.0.1:54329/nightshift"
            owner_url = "postgresql://postgres@127.0.0.1:54329/nightshift"
            """
        let fromFile = try NightshiftConfig.parseWithPacks(file, source: "test.toml", environment: ["NIGHTSHIFT_DB_PORT": "6000"])
        #expect(fromFile.database.url == "postgresql://nightshift_app@127.0.0.1:6000/nightshift")
        #expect(fromFile.database.migrationURL == "postgresql://postgres@127.0.0.1:6000/nightshift")

        // A test or a script that names its database must never have migrations go elsewhere.
        let oneDatabase = try NightshiftConfig.parseWithPacks(file, source: "test.toml", environment: ["DATABASE_URL": "postgresql://postgres@db/x"])
        #expect(oneDatabase.database.url == "postgresql://postgres@db/x")
        #expect(oneDatabase.database.migrationURL == "postgresql://postgres@db/x")

        let split = try NightshiftConfig.parseWithPacks(file, source: "test.toml", environment: [
            "DATABASE_URL": "postgresql://nightshift_app@db/x", "DATABASE_OWNER_URL": "postgresql://owner@db/x",
        ])
        #expect(split.database.url == "postgresql://nightshift_app@db/x")
        #expect(split.database.migrationURL == "postgresql://owner@db/x")
        #expect(try NightshiftConfig.parseWithPacks(minimal, source: "test.toml").database.migrationURL
                == "postgresql://nightshift_app@127.0.0.1:54329/nightshift", "no owner_url: migrations use url")
    }

    @Test("a bad environment value names the variable", arguments: [
        ("OVERDUE_CHECK_HOUR", "25"),
        ("OVERDUE_CHECK_HOUR", "two"),
        ("ENABLE_SCHEDULED_JOBS", "maybe"),
        ("HEALTH_REFRESH_INTERVAL_MINUTES", "0"),
        ("NIGHTSHIFT_API_PORT", "-1"),
    ])
    func badEnvironment(name: String, value: String) {
        let error = parseError(minimal, environment: [name: value])
        #expect(error?.key == name)
        #expect(error?.source == "environment")
    }

    @Test("OTEL_EXPORTER_OTLP_ENDPOINT sets or overrides [observability] otlp_endpoint")
    func otlpEndpointFromEnvironment() throws {
        let environment = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://env.test:4318"]
        let unset = try NightshiftConfig.parseWithPacks(minimal, source: "test.toml", environment: environment)
        #expect(unset.observability.otlpEndpoint == "http://env.test:4318")
        let set = try NightshiftConfig.parseWithPacks(
            minimal + "\n[observability]\notlp_endpoint = \"http://file.test:4318\"\n", source: "test.toml", environment: environment)
        #expect(set.observability.otlpEndpoint == "http://env.test:4318")
        // Empty counts as unset, as for every other variable.
        let empty = try NightshiftConfig.parseWithPacks(minimal, source: "test.toml", environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": ""])
        #expect(empty.observability.otlpEndpoint == nil)
    }

    @Test("a secret missing from the file can come from the environment")
    func secretFromEnvironment() throws {
        let text = minimal.split(separator: "\n").filter { !$0.hasPrefix("anon_key") }.joined(separator: "\n")
        let config = try NightshiftConfig.parseWithPacks(text, source: "test.toml", environment: ["NIGHTSHIFT_ANON_KEY": "k"])
        #expect(config.auth.anonKey == "k")
    }
}
