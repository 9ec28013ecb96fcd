extension PostgresError {
    /// Whether the server (or PgBouncer, or libpq before sending anything) turned the login
    /// down for a reason waiting will not change: wrong password, unknown role or database,
    /// no `pg_hba.conf` entry, no CONNECT privilege, a required SSL the server lacks.
    ///
    /// libpq reports connection-time errors as text only (no SQLSTATE), so this reads the
    /// message: the server's English texts. A server speaking another `lc_messages` makes
    /// this `false`, and a caller that retries transient errors retries the rejection until
    /// its own deadline, still printing the server's message.
    public var isLoginRejected: Bool {
        guard kind == .connection else { return false }
        return Self.loginRejections.contains { message.contains($0) }
    }

    private static let loginRejections = [
        "password authentication failed",
        "Peer authentication failed",
        "Ident authentication failed",
        "no password supplied",
        "no pg_hba.conf entry",
        "pg_hba.conf rejects connection",
        "does not exist",  // role "…" / database "…" does not exist
        "is not permitted to log in",
        "permission denied for database",
        "SSL was required",
        "no such database",  // PgBouncer
        "no such user",  // PgBouncer
    ]
}
