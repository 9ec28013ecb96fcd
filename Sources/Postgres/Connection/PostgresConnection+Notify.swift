extension PostgresConnection {
    /// Sends a notification (`select pg_notify($1, $2)`); inside a transaction it is delivered on COMMIT.
    public func notify(channel: String, payload: String = "") throws {
        try query("select pg_notify(\(channel), \(payload))")
    }
}
