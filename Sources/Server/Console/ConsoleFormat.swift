import Foundation

/// Times, durations and the overview's chart as the console shows them.
enum ConsoleFormat {
    /// A UTC timestamp from the API (`2026-12-06T07:21:07.123456+00:00`) parsed exactly, with its
    /// microseconds (Foundation's ISO 8601 parser keeps milliseconds at best).
    static func date(_ text: String?) -> Date? {
        guard let text, text.count >= 19 else { return nil }
        let chars = Array(text.utf8)
        func int(_ range: Range<Int>) -> Int? { Int(String(decoding: chars[range], as: UTF8.self)) }
        guard let year = int(0..<4), let month = int(5..<7), let day = int(8..<10), let hour = int(11..<13),
              let minute = int(14..<16), let second = int(17..<19) else { return nil }
        var components = DateComponents()
        components.year = year
        components.month = month
        components.day = day
        components.hour = hour
        components.minute = minute
        components.second = second
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard var date = calendar.date(from: components) else { return nil }
        if chars.count > 20, chars[19] == UInt8(ascii: ".") {
            let digits = chars[20...].prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
            if let fraction = Double("0." + String(decoding: digits, as: UTF8.self)) { date += fraction }
        }
        return date
    }

    /// `2026-12-06 07:21:07` (UTC, whole seconds): what a table cell shows.
    static func time(_ text: String?) -> String? {
        guard let text, text.count >= 19 else { return text }
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(8))
    }

    /// 850 ms, 12.4 s, 3 min 5 s, 2 h 10 min.
    static func duration(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded())) ms" }
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        if seconds < 3600 { return "\(Int(seconds) / 60) min \(Int(seconds) % 60) s" }
        return "\(Int(seconds) / 3600) h \((Int(seconds) % 3600) / 60) min"
    }

    /// Milliseconds from the API (text) as a duration.
    static func milliseconds(_ text: String?) -> String? {
        guard let text, let ms = Double(text) else { return nil }
        return duration(ms / 1000)
    }

    /// The first block of a UUID, for tables (the link carries the whole id).
    static func short(_ id: String) -> String { String(id.prefix(8)) }

    /// A fragment id for a function id (`reports/nightly` → `f-reports-nightly`).
    static func anchor(_ id: String) -> String {
        "f-" + String(id.map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }

    /// The functions page that holds function `id`, scrolled to its card. An id is any
    /// non-blank text, so it is percent-encoded whole (`&`, `#`, `+` included).
    static func functionURL(_ id: String) -> String {
        let encoded = id.addingPercentEncoding(withAllowedCharacters: idCharacters) ?? ""
        return "/console/functions?function=\(encoded)#\(anchor(id))"
    }

    private static let idCharacters = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/")

    /// The overview's chart: runs (blue) and failures (red) per minute over 1,440 minutes, as two
    /// polylines in one SVG (a few KB, however many runs), with hour marks every 6 h.
    static func chart(perMinute: [(minute: Int, runs: Int, failed: Int)], since: Date) -> String {
        let width = 1440, height = 140, top = 8, bottom = 20
        var runs = [Int](repeating: 0, count: width), failed = [Int](repeating: 0, count: width)
        for point in perMinute where (0..<width).contains(point.minute) {
            runs[point.minute] = point.runs
            failed[point.minute] = point.failed
        }
        let peak = max(runs.max() ?? 0, 1)
        let plot = height - top - bottom
        func y(_ value: Int) -> Int { top + plot - value * plot / peak }
        // One point where the value changes (and the one before it), not 1,440: a quiet day is a
        // few dozen points.
        func line(_ values: [Int]) -> String {
            var points = ""
            points.reserveCapacity(4096)
            for (x, value) in values.enumerated() where x == 0 || x == values.count - 1 || value != values[x - 1] || value != values[x + 1] {
                points += points.isEmpty ? "" : " "
                points += String(x)
                points += ","
                points += String(y(value))
            }
            return points
        }
        var marks = ""
        let formatter = DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "HH:mm"
        for minute in stride(from: 0, through: width, by: 360) {
            let x = min(minute, width - 1)
            marks += "<line class=\"axis\" x1=\"\(x)\" y1=\"\(top)\" x2=\"\(x)\" y2=\"\(height - bottom)\"/>"
            let anchor = minute == 0 ? "start" : (minute >= width ? "end" : "middle")
            marks += "<text x=\"\(x)\" y=\"\(height - 5)\" text-anchor=\"\(anchor)\">\(formatter.string(from: since.addingTimeInterval(Double(minute) * 60)))</text>"
        }
        let total = runs.reduce(0, +), failures = failed.reduce(0, +)
        return """
            <svg class="chart" viewBox="0 0 \(width) \(height)" role="img" aria-label="Runs per minute over the last 24 hours: \(total) runs, \(failures) failed, at most \(peak) in one minute">\
            <line class="axis" x1="0" y1="\(height - bottom)" x2="\(width)" y2="\(height - bottom)"/>\(marks)\
            <text x="4" y="\(top + 10)">\(peak)/min</text>\
            <polyline class="failed" points="\(line(failed))"/><polyline class="runs" points="\(line(runs))"/></svg>
            """
    }
}
