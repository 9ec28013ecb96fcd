/// How to reach the database: a URL or conninfo string plus the settings every connection gets.
public struct PostgresConfiguration: Sendable, Hashable {
    /// `postgres://user:pass@host:port/db?sslmode=...` or `host=... port=... dbname=...`; libpq parses both.
    public var url: String
    /// Shown in `pg_stat_activity.application_name`; overrides one given in `url`.
    public var applicationName: String
    /// Seconds libpq waits for a connection; used unless `url` sets `connect_timeout` itself.
    public var connectTimeoutSeconds: Int

    /// Creates a configuration.
    public init(url: String, applicationName: String = "nightshift", connectTimeoutSeconds: Int = 10) {
        self.url = url
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }

    /// Server settings sent at start-up so text output (dates, floats) always has the form the decoders parse.
    static let startupOptions = "-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3"
}
