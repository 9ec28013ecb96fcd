import Foundation

/// Text conversion of timestamps in the ISO DateStyle the connection sets at start-up.
enum TimestampText {
    static let microsecondsPerSecond: Int64 = 1_000_000
    /// Seconds from 1970-01-01 to Foundation's 2001-01-01 reference date.
    static let referenceOffset: Int64 = 978_307_200

    /// Rounds to whole microseconds since 1970, computed from the 2001 reference to keep Double precision.
    /// What a timestamptz holds, in seconds since 1970: 4713-11-24 BC to the end of 294276 AD.
    static let representable = -210_866_803_200.0..<9_224_318_016_000.0

    /// Rounds to whole microseconds since 1970, computed from the 2001 reference to keep Double
    /// precision; nil outside `representable` (where the arithmetic would also overflow).
    static func microseconds(of date: Date) -> Int64? {
        guard representable.contains(date.timeIntervalSince1970) else { return nil }
        let sinceReference = (date.timeIntervalSinceReferenceDate * 1_000_000).rounded()
        return Int64(sinceReference) + referenceOffset * microsecondsPerSecond
    }

    static func format(microsecondsSince1970 total: Int64) -> String {
        let (seconds, micros) = floorDivide(total, microsecondsPerSecond)
        let (days, secondOfDay) = floorDivide(seconds, 86_400)
        let civil = CivilCalendar.date(days: Int(days))
        let (date, bc) = CivilCalendar.format(year: civil.year, month: civil.month, day: civil.day)
        let second = Int(secondOfDay)
        let time =
            "\(CivilCalendar.pad(second / 3600, 2)):\(CivilCalendar.pad(second / 60 % 60, 2)):"
            + "\(CivilCalendar.pad(second % 60, 2)).\(CivilCalendar.pad(Int(micros), 6))+00"
        return date + " " + time + (bc ? " BC" : "")
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> Date {
        guard let date = CivilCalendar.parseDate(bytes) else {
            if TextParsing.equalsIgnoringCase(bytes, "infinity") || TextParsing.equalsIgnoringCase(bytes, "-infinity") {
                throw PostgresDecodingFailure("timestamp 'infinity' cannot be represented as Date")
            }
            throw PostgresDecodingFailure("not a timestamp (expected ISO output; is DateStyle ISO?)")
        }
        let bc = CivilCalendar.hasBCSuffix(bytes)
        let end = bytes.count - (bc ? 3 : 0)
        var index = date.end
        var secondOfDay = 0
        var micros: Int64 = 0
        var offsetSeconds = 0
        if index < end {
            guard bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "T"),
                let hour = TextParsing.digits(bytes, at: index + 1, count: 2),
                let minute = TextParsing.digits(bytes, at: index + 4, count: 2),
                let second = TextParsing.digits(bytes, at: index + 7, count: 2)
            else { throw PostgresDecodingFailure("not a timestamp") }
            secondOfDay = hour * 3600 + minute * 60 + second
            index += 9
            if index < end, bytes[index] == UInt8(ascii: ".") {
                index += 1
                var scale: Int64 = 100_000
                while index < end, case let digit = bytes[index] &- UInt8(ascii: "0"), digit < 10 {
                    micros += Int64(digit) * scale
                    scale /= 10
                    index += 1
                }
            }
            if index < end {
                offsetSeconds = try parseOffset(bytes, from: index, to: end)
            }
        }
        guard index <= end else { throw PostgresDecodingFailure("not a timestamp") }
        let year = bc ? 1 - date.year : date.year
        let days = Int64(CivilCalendar.days(year: year, month: date.month, day: date.day))
        let seconds = days * 86_400 + Int64(secondOfDay - offsetSeconds)
        // Whole seconds and the fraction are added separately, relative to 2001, to keep microseconds.
        return Date(timeIntervalSinceReferenceDate: Double(seconds - referenceOffset) + Double(micros) / 1_000_000)
    }

    /// Parses `+HH`, `+HH:MM` or `+HH:MM:SS` (or `-`) up to `end`.
    private static func parseOffset(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) throws -> Int {
        let sign = bytes[start]
        guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"),
            let hours = TextParsing.digits(bytes, at: start + 1, count: 2)
        else { throw PostgresDecodingFailure("not a timestamp (bad zone offset)") }
        var offset = hours * 3600
        var index = start + 3
        var multiplier = 60
        while index < end {
            guard bytes[index] == UInt8(ascii: ":"), multiplier >= 1,
                let part = TextParsing.digits(bytes, at: index + 1, count: 2)
            else { throw PostgresDecodingFailure("not a timestamp (bad zone offset)") }
            offset += part * multiplier
            multiplier /= 60
            index += 3
        }
        return sign == UInt8(ascii: "-") ? -offset : offset
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let quotient = value / divisor
        let remainder = value % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }
}
