/// A calendar date without time or zone, as PostgreSQL's `date` type (year 0 is 1 BC).
public struct PostgresDate: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    /// The astronomical year.
    public var year: Int
    /// The month, 1 to 12.
    public var month: Int
    /// The day of the month, from 1.
    public var day: Int

    /// Creates a date; `nil` when the day does not exist.
    public init?(year: Int, month: Int, day: Int) {
        guard CivilCalendar.isValid(year: year, month: month, day: day) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD` (with an optional ` BC`).
    public init?(_ text: String) {
        var text = text
        guard let parsed = text.withUTF8({ Self.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = parsed
    }

    /// `YYYY-MM-DD`, the ISO form PostgreSQL prints (with ` BC` for years before 1).
    public var description: String {
        let (text, bc) = CivilCalendar.format(year: year, month: month, day: day)
        return bc ? text + " BC" : text
    }

    /// Chronological order.
    public static func < (lhs: PostgresDate, rhs: PostgresDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// Decodes from the `YYYY-MM-DD` string, so JSON carries the same text as SQL.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let date = PostgresDate(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "expected a YYYY-MM-DD date")
            )
        }
        self = date
    }

    /// Encodes as the `YYYY-MM-DD` string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) -> PostgresDate? {
        guard let parsed = CivilCalendar.parseDate(bytes) else { return nil }
        let bc = CivilCalendar.hasBCSuffix(bytes)
        guard parsed.end == bytes.count - (bc ? 3 : 0) else { return nil }
        return PostgresDate(year: bc ? 1 - parsed.year : parsed.year, month: parsed.month, day: parsed.day)
    }
}
