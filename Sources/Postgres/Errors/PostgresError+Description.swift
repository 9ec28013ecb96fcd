extension PostgresError: CustomStringConvertible, CustomDebugStringConvertible {
    /// Kind, SQLSTATE and message only: safe for logs, because DETAIL and the query may carry data.
    public var description: String {
        var text = "PostgresError(\(kind)"
        if let sqlState { text += ", \(sqlState)" }
        return text + "): \(message)"
    }

    /// Every field, for debugging.
    public var debugDescription: String {
        var parts = ["kind: \(kind)"]
        if let sqlState { parts.append("sqlState: \(sqlState)") }
        parts.append("message: \(message)")
        let optional: [(String, String?)] = [
            ("detail", detail), ("hint", hint), ("position", position.map(String.init)), ("context", context),
            ("schema", schemaName), ("table", tableName), ("column", columnName),
            ("constraint", constraintName), ("query", query),
        ]
        for (name, value) in optional {
            if let value { parts.append("\(name): \(value)") }
        }
        parts.append("transient: \(isTransient)")
        return "PostgresError(" + parts.joined(separator: ", ") + ")"
    }
}
