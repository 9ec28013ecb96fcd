/// Why migrating stopped: the file, and where the database said so, the line and SQLSTATE.
public struct MigrationError: Error, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let sqlState: String?
    public let problem: String

    public init(file: String, line: Int? = nil, sqlState: String? = nil, problem: String) {
        self.file = file
        self.line = line
        self.sqlState = sqlState
        self.problem = problem
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        if let sqlState { text += ": SQLSTATE \(sqlState)" }
        return text + ": " + problem
    }
}
