import Foundation
import Logging
import Postgres

/// One migration's key in `nightshift.schema_migrations`: its component and file name.
public struct MigrationKey: Sendable, Hashable, CustomStringConvertible {
    /// The component (`engine`, a pack's name); empty for a row recorded before components.
    public var component: String
    /// The file name, `NNNN_area_what.sql`.
    public var name: String

    /// The key of file `name` of `component`.
    public init(component: String, name: String) {
        self.component = component
        self.name = name
    }

    /// `engine/0001_nightshift_schema.sql`.
    public var description: String { component.isEmpty ? name : "\(component)/\(name)" }
}

/// Applies migration sets (the engine's, then each pack's, `MigrationSet.ordered`), each file in
/// its own transaction, recording component, name and checksum in `nightshift.schema_migrations`.
/// A session advisory lock makes concurrent runners take turns; the second finds everything applied.
///
/// Rows of a component it was not given (another application's pack, a pack left out with
/// `--only`) are neither applied nor refused: `status` lists them as `notInBuild`.
public struct Migrator: Sendable {
    /// The advisory lock key every migrator takes (an arbitrary constant owned by Nightshift).
    static let lockKey: Int64 = 0x4E53_4D49_4752  // "NSMIGR"

    /// What one run did, in the order it went.
    public struct Outcome: Sendable, Equatable {
        /// The files this run applied, in the order it applied them.
        public var applied: [MigrationKey] = []
        /// The given sets' files that were applied before this run.
        public var alreadyApplied: [MigrationKey] = []
    }

    /// One file as the database records it (`nightshift migrate --list`).
    public struct FileStatus: Sendable, Equatable {
        /// Where a file stands in the database's history (the JSON `state` of `migrate --list`).
        public enum State: String, Sendable {
            /// Recorded in `nightshift.schema_migrations`.
            case applied
            /// Not recorded yet: the next `migrate` applies it.
            case pending
            /// Recorded for a component this migrator has, but no longer one of its files.
            case missing
            /// Recorded for a component this migrator was not given (another application's pack, or
            /// one left out with `--only`): left alone, neither applied nor refused.
            case notInBuild = "not-in-build"
        }
        /// The component; empty for a row a migrator before components wrote whose name is no
        /// file of any set given (its component cannot be told).
        public var component: String
        /// The file name.
        public var name: String
        /// Applied, pending, missing or not in this build.
        public var state: State
        /// When it was recorded (nil when pending).
        public var appliedAt: Date?
        /// Whether the file still has the recorded checksum (nil unless applied).
        public var checksumMatches: Bool?
        /// How long applying it took, as recorded (nil when pending).
        public var durationMilliseconds: Int?

        /// Its component and name.
        public var key: MigrationKey { MigrationKey(component: component, name: name) }
    }

    let sets: [MigrationSet]
    let logger: Logger
    /// Called after each file commits, with its component, name and how long it took (the CLI's progress line).
    let onApplied: (@Sendable (_ component: String, _ name: String, _ milliseconds: Int) -> Void)?

    /// A migrator of `sets` (any order: each run applies them in `MigrationSet.ordered` order, and
    /// refuses the sets as `ordered` does); `onApplied` is told of each file as it commits.
    public init(
        sets: [MigrationSet], logger: Logger = Logger(label: "migrate"),
        onApplied: (@Sendable (_ component: String, _ name: String, _ milliseconds: Int) -> Void)? = nil
    ) {
        self.sets = sets
        self.logger = logger
        self.onApplied = onApplied
    }

    /// One set of `files`, component `default`, requiring nothing.
    public init(
        files: [MigrationFile], logger: Logger = Logger(label: "migrate"),
        onApplied: (@Sendable (_ name: String, _ milliseconds: Int) -> Void)? = nil
    ) {
        var forward: (@Sendable (String, String, Int) -> Void)?
        if let onApplied { forward = { @Sendable _, name, milliseconds in onApplied(name, milliseconds) } }
        self.init(sets: [MigrationSet(component: "default", files: files)], logger: logger, onApplied: forward)
    }

    /// Every file's state in the order they apply (components in `MigrationSet.ordered` order, files
    /// in name order, a component's missing files among them), then the rows of components not
    /// given. Reads only: on a database never migrated every file is pending; on one a migrator
    /// before components wrote, rows are matched to the given files by name.
    public func status(on connection: PostgresConnection) async throws -> [FileStatus] {
        let ordered = try MigrationSet.ordered(sets)
        let rows = try Self.assignComponents(try await Self.recorded(on: connection), sets: ordered)
        return Self.statuses(ordered, rows: rows, checksums: try await Self.checksums(of: ordered, on: connection))
    }

    /// What `run` would apply, in order, after the same checks (a changed, missing or
    /// out-of-order file throws as `run` would); writes nothing (`migrate --dry-run`).
    public func plan(on connection: PostgresConnection) async throws -> [MigrationKey] {
        let statuses = try await status(on: connection)
        try Self.checkHistory(statuses)
        return statuses.filter { $0.state == .pending }.map(\.key)
    }

    /// Connects with its own connection (the advisory lock is per session) and migrates.
    public func run(databaseURL: String) async throws -> Outcome {
        let connection = try await PostgresConnection.connect(
            PostgresConfiguration(url: databaseURL, applicationName: "nightshift-migrate"))
        defer { Task { await connection.close() } }
        return try await run(on: connection)
    }

    /// Migrates on a connection the caller owns.
    public func run(on connection: PostgresConnection) async throws -> Outcome {
        let ordered = try MigrationSet.ordered(sets)
        _ = try await connection.query("select pg_advisory_lock(\(Self.lockKey))")
        do {
            let outcome = try await migrateLocked(ordered, connection)
            _ = try await connection.query("select pg_advisory_unlock(\(Self.lockKey))")
            return outcome
        } catch {
            _ = try? await connection.query("select pg_advisory_unlock(\(Self.lockKey))")
            throw error
        }
    }

    private func migrateLocked(_ ordered: [MigrationSet], _ connection: PostgresConnection) async throws -> Outcome {
        // Created or upgraded under the lock, so two first-time runners cannot race on it.
        try await Self.prepareTable(on: connection)
        let rows = try await Self.recorded(on: connection)
        let assigned = try Self.assignComponents(rows, sets: ordered)
        try await Self.recordComponents(from: rows, to: assigned, on: connection)
        let statuses = Self.statuses(ordered, rows: assigned, checksums: try await Self.checksums(of: ordered, on: connection))
        try Self.checkHistory(statuses)

        var outcome = Outcome()
        outcome.alreadyApplied = statuses.filter { $0.state == .applied }.map(\.key)
        let pending = Set(statuses.filter { $0.state == .pending }.map(\.key))
        for set in ordered {
            for file in set.files where pending.contains(MigrationKey(component: set.component, name: file.name)) {
                try await apply(file, of: set.component, on: connection)
                outcome.applied.append(MigrationKey(component: set.component, name: file.name))
            }
        }
        return outcome
    }

    /// Per component: refuses a changed file, a deleted one, and one slipped in before the
    /// component's newest applied file. Components not given are not looked at.
    static func checkHistory(_ statuses: [FileStatus]) throws {
        if let changed = statuses.first(where: { $0.checksumMatches == false }) {
            throw MigrationError(
                component: changed.component, file: changed.name,
                problem: "was changed after it was applied (its checksum differs from the one recorded); "
                    + "applied migrations are append-only: revert the edit and add a new migration instead")
        }
        if let missing = statuses.first(where: { $0.state == .missing }) {
            throw MigrationError(
                component: missing.component, file: missing.name,
                problem: "is recorded as applied but is missing from the component's migrations")
        }
        var newestApplied: [String: String] = [:]
        for status in statuses where status.state == .applied || status.state == .missing {
            newestApplied[status.component] = max(newestApplied[status.component] ?? "", status.name)
        }
        for status in statuses where status.state == .pending {
            if let newest = newestApplied[status.component], status.name < newest {
                throw MigrationError(
                    component: status.component, file: status.name,
                    problem: "is not applied but sorts before the already applied \(newest) of its component; renumber it after that one")
            }
        }
    }

    private func apply(_ file: MigrationFile, of component: String, on connection: PostgresConnection) async throws {
        let clock = ContinuousClock()
        let started = clock.now
        let script = SQLScript(file.sql)
        try await connection.executeScript("begin")
        var current: SQLScript.Statement?
        do {
            for statement in script.statements {
                current = statement
                try await connection.executeScript(statement.sql)
            }
            current = nil
            let elapsed = clock.now - started
            let milliseconds = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
            try await connection.query("""
                insert into nightshift.schema_migrations (component, name, checksum, duration_ms)
                values (\(component), \(file.name), encode(sha256(convert_to(\(file.sql), 'UTF8')), 'hex'), \(milliseconds))
                """)
            try await connection.executeScript("commit")
            logger.info(
                "applied migration", metadata: ["migration_component": "\(component)", "file": "\(file.name)", "duration_ms": "\(milliseconds)"])
            onApplied?(component, file.name, milliseconds)
        } catch {
            try? await connection.executeScript("rollback")
            throw Self.describe(error, component: component, file: file, statement: current)
        }
    }

    private static func describe(
        _ error: any Error, component: String, file: MigrationFile, statement: SQLScript.Statement?
    ) -> MigrationError {
        guard let error = error as? PostgresError else {
            return MigrationError(component: component, file: file.name, line: statement?.line, problem: "\(error)")
        }
        var line = statement?.line
        if let statement, let position = error.position { line = statement.line(ofPosition: position) }
        var problem = error.message
        if let detail = error.detail { problem += " (detail: \(detail))" }
        if let hint = error.hint { problem += " (hint: \(hint))" }
        return MigrationError(component: component, file: file.name, line: line, sqlState: error.sqlState, problem: problem)
    }
}
