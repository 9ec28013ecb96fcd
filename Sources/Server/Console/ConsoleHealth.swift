/// Health figures a pack (or an application) shows on the console's overview: a pack's data
/// freshness, a nightly job's last run. The server names no pack; it is handed these (see
/// ``NightshiftServer/makeRouter(config:database:functions:routes:health:authenticator:metrics:runEvents:)``).
public protocol ConsoleHealth: Sendable {
    /// The section's heading on the overview.
    var title: String { get }
    /// The figures, read under the signed-in caller's role and claims (a figure the caller may
    /// not read throws, and the overview shows the error in that section alone).
    func figures(database: RequestDatabase) async throws -> [ConsoleFigure]
}

/// One labelled figure of a ``ConsoleHealth`` section.
public struct ConsoleFigure: Sendable, Equatable {
    /// What the figure is ("Scores older than 24 h").
    public let label: String
    /// Its value as shown ("12", "2026-12-06 03:00 UTC").
    public let value: String

    /// A figure.
    public init(label: String, value: String) {
        self.label = label
        self.value = value
    }
}

/// The figures most packs want: when each of their functions last ran and how it ended, read
/// from the engine (`api.runs`), so any console reader may see them.
public struct LastRunsHealth: ConsoleHealth {
    /// The section's heading.
    public let title: String
    /// The functions, in the order shown.
    public let functionIDs: [String]

    /// A section titled `title` with the last run of each of `functionIDs`.
    public init(title: String, functionIDs: [String]) {
        self.title = title
        self.functionIDs = functionIDs
    }

    /// "completed, 2026-12-06 03:00:12 UTC" for each function; "never ran" for one without runs.
    public func figures(database: RequestDatabase) async throws -> [ConsoleFigure] {
        let ids = functionIDs
        // One transaction for all of them: one round of role and claims, one connection.
        let rows = try await database.transaction { connection in
            try ids.map { id in
                try connection.query("""
                    select r ->> 'status', r ->> 'created_at'
                    from jsonb_array_elements(api.runs(\(id), null, null, null, null, 1) -> 'runs') r
                    """).first.map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1)) }
            }
        }
        return zip(ids, rows).map { id, row in
            guard let (status, at) = row else { return ConsoleFigure(label: "Last \(id)", value: "never ran") }
            return ConsoleFigure(label: "Last \(id)", value: "\(status), \(ConsoleFormat.time(at) ?? at) UTC")
        }
    }
}
