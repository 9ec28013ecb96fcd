/// Why migrating stopped: the component and file, and where the database said so, the line and SQLSTATE.
public struct MigrationError: Error, CustomStringConvertible {
    /// The component the file belongs to, or the component a set-level problem is about (nil: unknown).
    public let component: String?
    /// The file name; empty when the problem is about a whole set (its order or requirements).
    public let file: String
    /// The line in the file of the statement that failed (the position the server gave, when it gave one).
    public let line: Int?
    /// The server's SQLSTATE, when the database refused the statement.
    public let sqlState: String?
    /// What was wrong, in words: the server's message with its detail and hint, or the migrator's own.
    public let problem: String

    /// An error about `file` of `component` (an empty file: about the set itself).
    public init(component: String? = nil, file: String, line: Int? = nil, sqlState: String? = nil, problem: String) {
        self.component = component
        self.file = file
        self.line = line
        self.sqlState = sqlState
        self.problem = problem
    }

    /// `engine/0005_nightshift_engine_worker.sql:12: SQLSTATE 42601: …`, or `billing: …` for a set.
    public var description: String {
        var text = [component, file.isEmpty ? nil : file].compactMap { $0 }.joined(separator: "/")
        if let line { text += ":\(line)" }
        if let sqlState { text += ": SQLSTATE \(sqlState)" }
        return text + ": " + problem
    }
}
