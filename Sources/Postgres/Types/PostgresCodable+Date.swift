import Foundation

extension Date: PostgresEncodable, PostgresDecodable {
    /// Binds as `timestamptz`.
    public static var postgresType: PostgresDataType { .timestamptz }

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00`, rounded to the microsecond PostgreSQL stores.
    public func postgresText() -> String? {
        TimestampText.format(microsecondsSince1970: TimestampText.microseconds(of: self))
    }

    /// Decodes ISO `timestamptz` (or `timestamp`, read as UTC, or `date`, as UTC midnight) output
    /// with microsecond precision; `infinity` throws because Date has no such value.
    public init(postgresCell cell: PostgresCell) throws {
        self = try TimestampText.parse(cell.bytes)
    }
}
