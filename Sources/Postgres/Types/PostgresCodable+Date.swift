import Foundation

extension Date: PostgresEncodable, PostgresDecodable {
    /// Binds as `timestamptz`.
    public static var postgresType: PostgresDataType { .timestamptz }

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00`, rounded to the microsecond PostgreSQL stores. A date
    /// no timestamptz can hold throws what the server would say (22008), before anything is sent.
    public func postgresText() throws -> String? {
        guard let microseconds = TimestampText.microseconds(of: self) else {
            throw PostgresError(
                kind: .encoding, message: "timestamp out of range: \(timeIntervalSince1970) s since 1970 is outside 4713 BC to 294276 AD",
                sqlState: "22008")
        }
        return TimestampText.format(microsecondsSince1970: microseconds)
    }

    /// Decodes ISO `timestamptz` (or `timestamp`, read as UTC, or `date`, as UTC midnight) output
    /// with microsecond precision; `infinity` throws because Date has no such value.
    public init(postgresCell cell: PostgresCell) throws {
        self = try TimestampText.parse(cell.bytes)
    }
}
