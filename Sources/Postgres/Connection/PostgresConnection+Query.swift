import CLibPQ

extension PostgresConnection {
    /// Runs one parameterised statement (extended protocol, text results) and returns its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) throws -> PostgresRows {
        try Task.checkCancellation()
        let handle = try openHandle(query.sql)
        let result = try ParameterBuffer.withParameters(query.binds, query: query.sql) { types, values in
            PQexecParams(handle, query.sql, Int32(query.binds.count), types, values, nil, nil, 0)
        }
        return try check(result, query: query.sql)
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
        guard let handle else {
            throw PostgresError(kind: .closed, message: "the connection is closed", query: sql)
        }
        guard drainIdleInput() else {
            refreshHealth()
            throw explain(PostgresError.connection(handle, query: sql))
        }
        return handle
    }

    /// Turns a PGresult into rows or a `PostgresError`, and refreshes the connection's health.
    private func check(_ result: OpaquePointer?, query: String) throws -> PostgresRows {
        defer { refreshHealth() }
        guard let result else {
            // libpq returns NULL when it could not even send the query (or ran out of memory).
            throw explain(PostgresError.connection(handle, query: query))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(result: result, query: query)
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE:
            let broken = handle.map { PQstatus($0) != CONNECTION_OK } ?? true
            let error = PostgresError(result: result, connectionBroken: broken, query: query)
            PQclear(result)
            throw explain(error)
        default:
            // COPY and pipeline states would leave the connection mid-protocol: close it rather than
            // hand a half-used connection back to the pool.
            PQclear(result)
            close()
            throw PostgresError(
                kind: .misuse,
                message: "COPY and pipeline mode are not supported; the connection was closed",
                query: query
            )
        }
    }
}
