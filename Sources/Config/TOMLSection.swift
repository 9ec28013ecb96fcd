import TOMLKit

/// Reads one TOML table with typed getters, remembering which keys were read so that
/// every key nobody asked for can be reported as unknown. A pack's ``ConfigSection`` reads its
/// table through one of these.
public struct TOMLSection {
    let table: TOMLTable
    /// Dotted path of this table (`""` for the root).
    public let path: String
    /// The config file, named in errors.
    public let file: String
    private(set) var consumed: Set<String> = []

    init(_ table: TOMLTable, path: String, file: String) {
        self.table = table
        self.path = path
        self.file = file
    }

    /// The dotted path of `key` in this table, as errors name it (`billing.invoice_url`).
    public func keyPath(_ key: String) -> String {
        let quoted = Self.quotedKey(key)
        return path.isEmpty ? quoted : "\(path).\(quoted)"
    }

    /// The key as TOML spells it in a dotted path: bare when it can be, quoted otherwise.
    static func quotedKey(_ key: String) -> String {
        key.contains(where: { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) ? "\"\(key)\"" : key
    }

    /// An error naming `key` of this table and the file.
    public func error(_ key: String, _ problem: String) -> ConfigError {
        ConfigError(key: keyPath(key), source: file, problem: problem)
    }

    private mutating func value(_ key: String) -> (any TOMLValueConvertible)? {
        consumed.insert(key)
        return table[key]
    }

    private func typeError(_ key: String, expected: String, got value: any TOMLValueConvertible) -> ConfigError {
        error(key, "must be \(expected), got \(value.type) \(value.debugDescription)")
    }

    /// The string at `key`, or nil when the table has no such key; marks the key read. Throws a
    /// ``ConfigError`` naming the key when it holds another type.
    public mutating func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let string = value.string else { throw typeError(key, expected: "a string", got: value) }
        return string
    }

    /// The integer at `key`, or nil when absent; marks the key read. Throws a ``ConfigError``
    /// naming the key when it is not an integer or falls outside `range`.
    public mutating func int(_ key: String, range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let int = value.int else { throw typeError(key, expected: "an integer", got: value) }
        if let range, !range.contains(int) {
            throw error(key, "must be between \(range.lowerBound) and \(range.upperBound), got \(int)")
        }
        return int
    }

    /// The boolean at `key`, or nil when absent; marks the key read. Throws a ``ConfigError``
    /// naming the key when it is not `true` or `false`.
    public mutating func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard let bool = value.bool else { throw typeError(key, expected: "true or false", got: value) }
        return bool
    }

    /// A duration written as a string with a unit: `"250ms"`, `"15s"`, `"10m"`, `"1h"`, `"14d"`.
    public mutating func duration(_ key: String, range: ClosedRange<Duration>? = nil) throws -> Duration? {
        guard let text = try string(key) else { return nil }
        guard let duration = Self.parseDuration(text) else {
            throw error(key, "must be a duration such as \"250ms\", \"15s\", \"10m\", \"1h\" or \"14d\", got \"\(text)\"")
        }
        if let range, !range.contains(duration) {
            throw error(key, "must be between \(range.lowerBound) and \(range.upperBound), got \"\(text)\"")
        }
        return duration
    }

    /// `"250ms"`, `"15s"`, `"10m"`, `"1h"`, `"14d"` (a whole number and a unit), or nil.
    static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Duration)] = [
            ("ms", .milliseconds(1)), ("s", .seconds(1)), ("m", .seconds(60)), ("h", .seconds(3600)), ("d", .seconds(86_400)),
        ]
        for (unit, scale) in units where text.hasSuffix(unit) {
            guard let count = Int(text.dropLast(unit.count)), count >= 0 else { return nil }
            return scale * count
        }
        return nil
    }

    /// A nested table; `nil` when absent.
    public mutating func section(_ key: String) throws -> TOMLSection? {
        guard let value = value(key) else { return nil }
        guard let table = value.table else { throw typeError(key, expected: "a table", got: value) }
        return TOMLSection(table, path: keyPath(key), file: file)
    }

    /// Every sub-table of this table, by key (for `[jobs."id"]`-style maps).
    public mutating func sections() throws -> [(key: String, section: TOMLSection)] {
        try table.keys.sorted().map { key in
            guard let section = try section(key) else { throw error(key, "is missing") }
            return (key, section)
        }
    }

    /// The first key (in name order) that no getter asked for, if any.
    func unreadKey() -> String? {
        table.keys.sorted().first(where: { !consumed.contains($0) })
    }

    /// Whether `key` holds a table.
    func isTable(_ key: String) -> Bool {
        table[key]?.table != nil
    }

    /// Throws for the first key in this table that no getter asked for.
    public func rejectUnknownKeys() throws {
        if let unknown = table.keys.sorted().first(where: { !consumed.contains($0) }) {
            throw error(unknown, "unknown key")
        }
    }
}
