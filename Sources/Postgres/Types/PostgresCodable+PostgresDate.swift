extension PostgresDate: PostgresEncodable, PostgresDecodable {
    /// Binds as `date`.
    public static var postgresType: PostgresDataType { .date }

    /// `YYYY-MM-DD` (with ` BC` when needed).
    public func postgresText() -> String? { description }

    /// Decodes `date` output; `infinity` has no calendar date and throws.
    public init(postgresCell cell: PostgresCell) throws {
        guard let date = PostgresDate.parse(cell.bytes) else {
            if TextParsing.equalsIgnoringCase(cell.bytes, "infinity")
                || TextParsing.equalsIgnoringCase(cell.bytes, "-infinity")
            {
                throw PostgresDecodingFailure("date '\(cell.string)' cannot be represented as PostgresDate")
            }
            throw PostgresDecodingFailure("not a date (expected YYYY-MM-DD; is DateStyle ISO?)")
        }
        self = date
    }
}
