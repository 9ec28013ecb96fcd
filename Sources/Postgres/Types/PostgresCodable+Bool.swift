extension Bool: PostgresEncodable, PostgresDecodable {
    /// Binds as `bool`.
    public static var postgresType: PostgresDataType { .bool }

    /// `true` / `false`.
    public func postgresText() -> String? { self ? "true" : "false" }

    /// Decodes PostgreSQL's `t` / `f` output.
    public init(postgresCell cell: PostgresCell) throws {
        switch cell.bytes.first {
        case UInt8(ascii: "t") where cell.bytes.count == 1 || TextParsing.equalsIgnoringCase(cell.bytes, "true"):
            self = true
        case UInt8(ascii: "f") where cell.bytes.count == 1 || TextParsing.equalsIgnoringCase(cell.bytes, "false"):
            self = false
        default:
            throw PostgresDecodingFailure("not a bool")
        }
    }
}
