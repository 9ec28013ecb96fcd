import CLibPQ

extension PostgresRows {
    /// The rows of a PGresult, or the `PostgresError` it carries (whose ownership this takes).
    /// NULL (nothing could be sent) is a connection error; a COPY or pipeline state is `.misuse`,
    /// after which the connection must not be reused.
    static func checked(_ result: OpaquePointer?, handle: OpaquePointer?, query: String) throws(PostgresError) -> PostgresRows {
        guard let result else {
            // libpq returns NULL when it could not even send the query (or ran out of memory).
            throw PostgresError.connection(handle, query: query)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(result: result, query: query)
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE:
            let broken = handle.map { PQstatus($0) != CONNECTION_OK } ?? true
            let error = PostgresError(result: result, connectionBroken: broken, query: query)
            PQclear(result)
            throw error
        default:
            PQclear(result)
            throw PostgresError(
                kind: .misuse,
                message: "COPY and pipeline mode are not supported; the connection was closed",
                query: query
            )
        }
    }
}
