/// Proleptic Gregorian date arithmetic (H. Hinnant's algorithms), so dates convert without
/// Calendar/DateFormatter, which are slow and depend on process-wide settings.
enum CivilCalendar {
    /// Days since 1970-01-01 for an astronomical year (year 0 is 1 BC).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The astronomical year, month and day of a day count since 1970-01-01.
    static func date(days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    /// Whether a day exists in its month (leap years included).
    static func isValid(year: Int, month: Int, day: Int) -> Bool {
        guard (1...12).contains(month), day >= 1 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= lengths[month - 1]
    }

    /// Parses PostgreSQL's ISO date prefix `YYYY-MM-DD` (year may be longer), returning the end index.
    static func parseDate(_ bytes: UnsafeRawBufferPointer) -> (year: Int, month: Int, day: Int, end: Int)? {
        var index = 0
        var year = 0
        while index < bytes.count, bytes[index] != UInt8(ascii: "-") {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10, index < 9 else { return nil }
            year = year * 10 + Int(digit)
            index += 1
        }
        guard index >= 4, index < bytes.count, bytes[index] == UInt8(ascii: "-"),
            let month = TextParsing.digits(bytes, at: index + 1, count: 2),
            index + 3 < bytes.count, bytes[index + 3] == UInt8(ascii: "-"),
            let day = TextParsing.digits(bytes, at: index + 4, count: 2)
        else { return nil }
        return (year, month, day, index + 6)
    }

    /// Whether the bytes end in PostgreSQL's era suffix ` BC`.
    static func hasBCSuffix(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let count = bytes.count
        return count >= 3 && bytes[count - 3] == UInt8(ascii: " ") && bytes[count - 2] == UInt8(ascii: "B")
            && bytes[count - 1] == UInt8(ascii: "C")
    }

    /// Formats an astronomical year, month and day as PostgreSQL's ISO text, with ` BC` when needed.
    static func format(year: Int, month: Int, day: Int) -> (text: String, bc: Bool) {
        let bc = year <= 0
        let displayYear = bc ? 1 - year : year
        return ("\(pad(displayYear, 4))-\(pad(month, 2))-\(pad(day, 2))", bc)
    }

    /// Zero-pads a non-negative number.
    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
