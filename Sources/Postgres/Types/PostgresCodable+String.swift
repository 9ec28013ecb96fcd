extension String: PostgresEncodable, PostgresDecodable {
    /// Binds as `text`; cast in SQL (`$1::interval`) for other types.
    public static var postgresType: PostgresDataType { .text }

    /// The string itself.
    public func postgresText() -> String? { self }

    /// Any column's text output: text, varchar, numeric digits, enum labels, and so on.
    public init(postgresCell cell: PostgresCell) throws { self = cell.string }
}
