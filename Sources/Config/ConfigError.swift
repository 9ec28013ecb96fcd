/// A configuration problem, naming the key (or environment variable) and the file it came from.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// The dotted key (`api.port`) or environment variable (`OVERDUE_CHECK_HOUR`) at fault.
    public let key: String
    /// The config file, or `environment` for an environment variable.
    public let source: String
    /// What is wrong with it.
    public let problem: String

    /// An error on `key` of `source`; `problem` completes the sentence "<key> …" (`must be an
    /// integer, got "x"`), so the message says what to change.
    public init(key: String, source: String, problem: String) {
        self.key = key
        self.source = source
        self.problem = problem
    }

    public var description: String { "\(source): \(key): \(problem)" }
}
