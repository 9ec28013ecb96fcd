/// A cron expression in words for the console ("every 5 minutes", "at 02:30, Monday to
/// Friday"). Five fields (minute hour day-of-month month day-of-week) or pg_cron's
/// "N seconds"; anything it cannot phrase comes back as the expression itself, never wrong words.
enum CronWords {
    static let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                         "November", "December"]

    static func describe(_ expression: String) -> String {
        let fields = expression.split(whereSeparator: \.isWhitespace).map(String.init)
        if fields.count == 2, let n = Int(fields[0]), n > 0, fields[1].hasPrefix("second") {
            return n == 1 ? "every second" : "every \(n) seconds"
        }
        guard fields.count == 5, let time = time(minute: fields[0], hour: fields[1]),
              let days = dayPart(dayOfMonth: fields[2], month: fields[3], dayOfWeek: fields[4]) else { return expression }
        // "every 5 minutes" already means every day.
        if days == "every day" && time.hasPrefix("every") { return time }
        return "\(time), \(days)"
    }

    private static func number(_ text: String, in range: ClosedRange<Int>) -> Int? {
        guard let value = Int(text), range.contains(value) else { return nil }
        return value
    }

    private static func step(_ text: String) -> Int? {
        guard text.hasPrefix("*/"), let n = Int(text.dropFirst(2)), n > 0 else { return nil }
        return n
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    private static func time(minute: String, hour: String) -> String? {
        if minute == "*" && hour == "*" { return "every minute" }
        if let n = step(minute), hour == "*" { return n == 1 ? "every minute" : "every \(n) minutes" }
        if let m = number(minute, in: 0...59) {
            if hour == "*" { return "every hour at :\(two(m))" }
            if let n = step(hour) { return "every \(n) hours at :\(two(m))" }
            let hours = hour.split(separator: ",").map { number(String($0), in: 0...23) }
            if !hours.isEmpty, hours.allSatisfy({ $0 != nil }) {
                let times = hours.compactMap { $0 }.map { "\(two($0)):\(two(m))" }
                return "at " + list(times)
            }
            if let range = range(hour, in: 0...23) { return "at :\(two(m)) past every hour from \(two(range.0)):00 to \(two(range.1)):00" }
        }
        return nil
    }

    private static func range(_ text: String, in bounds: ClosedRange<Int>) -> (Int, Int)? {
        let parts = text.split(separator: "-")
        guard parts.count == 2, let a = number(String(parts[0]), in: bounds), let b = number(String(parts[1]), in: bounds), a < b else {
            return nil
        }
        return (a, b)
    }

    private static func dayPart(dayOfMonth: String, month: String, dayOfWeek: String) -> String? {
        var parts: [String] = []
        if dayOfWeek != "*" {
            guard let names = names(dayOfWeek, names: days, bounds: 0...7, wrap: true) else { return nil }
            parts.append("on \(names)")
        }
        if dayOfMonth != "*" {
            guard let values = names(dayOfMonth, names: nil, bounds: 1...31, wrap: false) else { return nil }
            parts.append("on day \(values) of the month")
        }
        if month != "*" {
            guard let names = names(month, names: months, bounds: 1...12, wrap: false) else { return nil }
            parts.append("in \(names)")
        }
        return parts.isEmpty ? "every day" : parts.joined(separator: " ")
    }

    /// "Monday to Friday", "Monday and Wednesday", "1, 15": a list of single values or ranges.
    private static func names(_ text: String, names: [String]?, bounds: ClosedRange<Int>, wrap: Bool) -> String? {
        func name(_ n: Int) -> String {
            guard let names else { return "\(n)" }
            let index = wrap ? n % 7 : n - bounds.lowerBound
            return names[index]
        }
        var items: [String] = []
        for item in text.split(separator: ",") {
            if let single = number(String(item), in: bounds) {
                items.append(name(single))
            } else if let (a, b) = range(String(item), in: bounds) {
                items.append("\(name(a)) to \(name(b))")
            } else {
                return nil
            }
        }
        return items.isEmpty ? nil : list(items)
    }

    private static func list(_ items: [String]) -> String {
        items.count <= 1 ? items.joined() : items.dropLast().joined(separator: ", ") + " and " + items[items.count - 1]
    }
}
