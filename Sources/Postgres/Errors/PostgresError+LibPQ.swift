import CLibPQ

extension PostgresError {
    /// Builds an error from a failed PGresult; `connectionBroken` turns it into a (transient) connection error.
    init(result: OpaquePointer, connectionBroken: Bool, query: String?) {
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        let primary = field("M") ?? String(cString: PQresultErrorMessage(result)).trimmedWhitespace
        let sqlState = field("C")
        self.init(
            kind: Self.timeoutStates.contains(sqlState ?? "") ? .timeout : connectionBroken ? .connection : .server,
            message: primary.isEmpty ? "query failed without an error message" : primary,
            sqlState: sqlState,
            detail: field("D"),
            hint: field("H"),
            position: field("P").flatMap { Int($0) },
            context: field("W"),
            query: query
        )
        schemaName = field("s")
        tableName = field("t")
        columnName = field("c")
        constraintName = field("n")
    }

    /// 57014 query_canceled (statement_timeout, or a cancel request), 55P03 lock_not_available
    /// (lock_timeout), 25P03 idle_in_transaction_session_timeout.
    static let timeoutStates: Set<String> = ["57014", "55P03", "25P03"]

    /// Builds a connection error from the connection's last libpq message.
    static func connection(_ handle: OpaquePointer?, prefix: String? = nil, query: String? = nil) -> PostgresError {
        var message = handle.flatMap { PQerrorMessage($0) }.map { String(cString: $0).singleLine } ?? ""
        if message.isEmpty { message = "connection failed" }
        if let prefix { message = prefix + ": " + message }
        return PostgresError(kind: .connection, message: message, query: query)
    }
}
