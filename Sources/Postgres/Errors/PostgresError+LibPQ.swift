import CLibPQ

extension PostgresError {
    /// Builds an error from a failed PGresult; `connectionBroken` turns it into a (transient) connection error.
    init(result: OpaquePointer, connectionBroken: Bool, query: String?) {
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        let primary = field("M") ?? String(cString: PQresultErrorMessage(result)).trimmedWhitespace
        self.init(
            kind: connectionBroken ? .connection : .server,
            message: primary.isEmpty ? "query failed without an error message" : primary,
            sqlState: field("C"),
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

    /// Builds a connection error from the connection's last libpq message.
    static func connection(_ handle: OpaquePointer?, prefix: String? = nil, query: String? = nil) -> PostgresError {
        var message = handle.flatMap { PQerrorMessage($0) }.map { String(cString: $0).singleLine } ?? ""
        if message.isEmpty { message = "connection failed" }
        if let prefix { message = prefix + ": " + message }
        return PostgresError(kind: .connection, message: message, query: query)
    }
}
