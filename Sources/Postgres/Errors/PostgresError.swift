/// The one error type of the Postgres module: server errors with their SQLSTATE fields, and client-side failures.
public struct PostgresError: Error, Sendable {
    /// What went wrong, broadly.
    public var kind: Kind
    /// The five-character SQLSTATE code the server (or libpq) reported, if any.
    public var sqlState: String?
    /// The primary, human-readable message.
    public var message: String
    /// The server's DETAIL field; may contain row data, so it only appears in `debugDescription`.
    public var detail: String?
    /// The server's HINT field.
    public var hint: String?
    /// The 1-based character offset into the query where the error happened (PG_DIAG_STATEMENT_POSITION).
    public var position: Int?
    /// The server's CONTEXT field ("where" the error happened: the function call stack).
    public var context: String?
    /// The schema the error is about, when the server names one.
    public var schemaName: String?
    /// The table the error is about, when the server names one.
    public var tableName: String?
    /// The column the error is about, when the server names one.
    public var columnName: String?
    /// The constraint that was violated, when the server names one.
    public var constraintName: String?
    /// The SQL text that failed, if a query was involved; binds are never recorded.
    public var query: String?

    /// Creates an error; the module builds most of them from libpq results.
    public init(
        kind: Kind,
        message: String,
        sqlState: String? = nil,
        detail: String? = nil,
        hint: String? = nil,
        position: Int? = nil,
        context: String? = nil,
        query: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.position = position
        self.context = context
        self.query = query
    }

    /// Whether retrying the same work later may succeed: a lost connection, a timeout, a
    /// serialization failure, a deadlock, or the server shutting down.
    public var isTransient: Bool {
        // A timeout depends on load and locks held by others: the same work may fit next time.
        if kind == .connection || kind == .timeout { return true }
        guard let sqlState else { return false }
        // Class 08 is "connection exception"; the rest are retryable by the caller's design.
        return sqlState.hasPrefix("08") || Self.transientStates.contains(sqlState)
    }

    /// 40001 serialization_failure, 40P01 deadlock_detected, 57P01 admin_shutdown,
    /// 57P02 crash_shutdown, 57P03 cannot_connect_now.
    private static let transientStates: Set<String> = ["40001", "40P01", "57P01", "57P02", "57P03"]
}
