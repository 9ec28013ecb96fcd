/// How to reach the database: a URL or conninfo string plus the settings every connection gets.
public struct PostgresConfiguration: Sendable, Hashable {
    /// `postgres://user:pass@host:port/db?sslmode=...` or `host=... port=... dbname=...`; libpq parses both.
    public var url: String
    /// Shown in `pg_stat_activity.application_name`; overrides one given in `url`.
    public var applicationName: String
    /// Seconds libpq waits for a connection; used unless `url` sets `connect_timeout` itself.
    public var connectTimeoutSeconds: Int
    /// Longest a statement may run before the server cancels it (an error of kind `.timeout`);
    /// nil leaves the server's setting. Sized to the connection's purpose: short for API requests.
    public var statementTimeout: Duration?
    /// Longest a transaction may sit idle before the server ends the session (kind `.timeout`,
    /// SQLSTATE 25P03), so a stuck client cannot hold locks for ever; nil leaves the server's setting.
    public var idleInTransactionTimeout: Duration?
    /// Whether queries marked ``PostgresQuery/prepared`` are prepared once per connection (the
    /// default); false runs every statement unnamed.
    public var preparesStatements: Bool

    /// Creates a configuration.
    public init(
        url: String, applicationName: String = "nightshift", connectTimeoutSeconds: Int = 10,
        statementTimeout: Duration? = nil, idleInTransactionTimeout: Duration? = nil, preparesStatements: Bool = true
    ) {
        self.url = url
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.statementTimeout = statementTimeout
        self.idleInTransactionTimeout = idleInTransactionTimeout
        self.preparesStatements = preparesStatements
    }

    /// `-c` settings for the timeouts that are set, in whole milliseconds (0 would mean "none").
    var timeoutOptions: String {
        let settings: [(String, Duration?)] = [
            ("statement_timeout", statementTimeout), ("idle_in_transaction_session_timeout", idleInTransactionTimeout),
        ]
        return settings.compactMap { name, duration in
            duration.map { " -c \(name)=\(max(1, $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000))" }
        }.joined()
    }

    /// Server settings sent at start-up so text output (dates, floats) always has the form the decoders parse.
    static let startupOptions = "-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3"
}
