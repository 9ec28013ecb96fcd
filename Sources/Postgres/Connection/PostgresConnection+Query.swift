import CLibPQ

extension PostgresConnection {
    /// Runs one parameterised statement (extended protocol, text results) and returns its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) throws -> PostgresRows {
        try Task.checkCancellation()
        let connection = try openConnection(query.sql)
        return try check(connection.preparedStatements.run(query, on: connection.pointer), query: query.sql)
    }

    /// Runs `query` unless the connection proves dead before anything is sent (then nil), so a
    /// pool can send it over another connection instead.
    func queryIfAlive(_ query: PostgresQuery) throws -> PostgresRows? {
        guard checkAlive() else { return nil }
        return try self.query(query)
    }

    /// Runs one parameterised statement and returns the number of rows it affected.
    @discardableResult
    public func execute(_ query: PostgresQuery) throws -> Int {
        try self.query(query).affectedRows
    }

    /// Runs a trusted, possibly multi-statement script with the simple protocol and no parameters.
    /// For migrations only: never build the script from untrusted input.
    public func executeScript(_ sql: String) throws {
        try Task.checkCancellation()
        _ = try simpleQuery(sql)
    }

    /// Runs SQL through `PQexec` (the simple protocol); used for scripts and transaction control.
    func simpleQuery(_ sql: String) throws -> PostgresRows {
        let handle = try openHandle(sql)
        return try check(PQexec(handle, sql), query: sql)
    }

    /// The live PGconn, or an error saying why there is none (closed, or lost while idle).
    private func openHandle(_ sql: String) throws -> OpaquePointer {
        try openConnection(sql).pointer
    }

    /// The live connection, or an error saying why there is none (closed, or lost while idle).
    private func openConnection(_ sql: String) throws -> LibPQConnection {
        guard let libpq else {
            throw PostgresError(kind: .closed, message: "the connection is closed", query: sql)
        }
        guard drainIdleInput() else {
            refreshHealth()
            throw explain(PostgresError.connection(libpq.pointer, query: sql))
        }
        return libpq
    }

    /// Turns a PGresult into rows or a `PostgresError`, and refreshes the connection's health.
    private func check(_ result: OpaquePointer?, query: String) throws -> PostgresRows {
        defer { refreshHealth() }
        do {
            return try PostgresRows.checked(result, handle: handle, query: query)
        } catch let error where error.kind == .misuse {
            // COPY and pipeline states would leave the connection mid-protocol: close it rather than
            // hand a half-used connection back to the pool.
            close()
            throw error
        } catch {
            throw explain(error)
        }
    }
}
