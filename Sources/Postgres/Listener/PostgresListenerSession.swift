import CLibPQ

/// The listener's own connection, lent to `PostgresListener`'s `onConnected` and
/// `onNotifications` so they can run statements at once: its backend is awake (it just sent the
/// notification), and no pool or task stands between. Valid only during that call, on the
/// listener's thread, and blocking it: a statement here delays the next notifications, so keep it
/// short. The connection is in autocommit mode: each statement commits or rolls back on its own.
public struct PostgresListenerSession: ~Copyable {
    let connection: LibPQConnection

    /// Runs one parameterised statement (extended protocol, text results) and returns its rows.
    /// A broken connection throws, and the listener reconnects (and yields `.listening`) afterwards.
    @discardableResult
    public func query(_ query: PostgresQuery) throws -> PostgresRows {
        let result = try connection.preparedStatements.run(query, on: connection.pointer)
        return try PostgresRows.checked(result, handle: connection.pointer, query: query.sql)
    }
}
