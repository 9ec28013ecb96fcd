import Foundation
import Logging
import Postgres

/// Applies `sql/migrations` in order, each file in its own transaction, recording name and
/// checksum in `nightshift.schema_migrations`. A session advisory lock makes concurrent
/// runners take turns; the second finds everything applied.
public struct Migrator: Sendable {
    /// The advisory lock key every migrator takes (an arbitrary constant owned by Nightshift).
    static let lockKey: Int64 = 0x4E53_4D49_4752  // "NSMIGR"

    /// What one run did.
    public struct Outcome: Sendable, Equatable {
        public var applied: [String] = []
        public var alreadyApplied: [String] = []
    }

    /// One file as the database records it (`nightshift migrate --list`).
    public struct FileStatus: Sendable, Equatable {
        public enum State: String, Sendable {
            /// Recorded in `nightshift.schema_migrations`.
            case applied
            /// Not recorded yet: the next `migrate` applies it.
            case pending
            /// Recorded, but no longer in the migrations folder.
            case missing
        }
        public var name: String
        public var state: State
        public var appliedAt: Date?
        /// Whether the file still has the recorded checksum (nil unless applied).
        public var checksumMatches: Bool?
        public var durationMilliseconds: Int?
    }

    let files: [MigrationFile]
    let logger: Logger
    /// Called after each file commits, with its name and how long it took (the CLI's progress line).
    let onApplied: (@Sendable (_ name: String, _ milliseconds: Int) -> Void)?

    public init(
        files: [MigrationFile], logger: Logger = Logger(label: "migrate"),
        onApplied: (@Sendable (_ name: String, _ milliseconds: Int) -> Void)? = nil
    ) {
        self.files = files
        self.logger = logger
        self.onApplied = onApplied
    }

    /// Every file's state, and the recorded ones no longer in the folder, in name order.
    /// Reads only: on a database never migrated every file is pending.
    public func status(on connection: PostgresConnection) async throws -> [FileStatus] {
        let exists = try await connection.query("select to_regclass('nightshift.schema_migrations') is not null")[0].decode(Bool.self, at: 0)
        var recorded: [String: FileStatus] = [:]
        if exists {
            let rows = try await connection.query("select name, applied_at, duration_ms from nightshift.schema_migrations")
            for row in rows {
                let (name, appliedAt, duration) = try row.decode(String.self, Date.self, Int.self)
                var matches: Bool?
                if let file = files.first(where: { $0.name == name }) {
                    matches = try await connection.query("""
                        select checksum = encode(sha256(convert_to(\(file.sql), 'UTF8')), 'hex')
                        from nightshift.schema_migrations where name = \(name)
                        """)[0].decode(Bool.self, at: 0)
                }
                recorded[name] = FileStatus(
                    name: name, state: matches == nil ? .missing : .applied, appliedAt: appliedAt, checksumMatches: matches,
                    durationMilliseconds: duration)
            }
        }
        var statuses = files.map { recorded[$0.name] ?? FileStatus(name: $0.name, state: .pending) }
        statuses += recorded.values.filter { $0.state == .missing }
        return statuses.sorted { $0.name < $1.name }
    }

    /// What `run` would apply, in order, after the same checks (a changed, missing or
    /// out-of-order file throws as `run` would); writes nothing (`migrate --dry-run`).
    public func plan(on connection: PostgresConnection) async throws -> [String] {
        let statuses = try await status(on: connection)
        var recorded: [String: Bool] = [:]
        for status in statuses where status.state == .applied { recorded[status.name] = status.checksumMatches }
        try checkHistory(recorded: recorded, known: statuses.filter { $0.state != .pending }.map(\.name).sorted())
        return statuses.filter { $0.state == .pending }.map(\.name)
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
        _ = try await connection.query("select pg_advisory_lock(\(Self.lockKey))")
        do {
            let outcome = try await migrateLocked(connection)
            _ = try await connection.query("select pg_advisory_unlock(\(Self.lockKey))")
            return outcome
        } catch {
            _ = try? await connection.query("select pg_advisory_unlock(\(Self.lockKey))")
            throw error
        }
    }

    private func migrateLocked(_ connection: PostgresConnection) async throws -> Outcome {
        // Created under the lock, so two first-time runners cannot race on it.
        try await connection.executeScript("""
            create schema if not exists nightshift;
            create table if not exists nightshift.schema_migrations (
                name text primary key,
                checksum text not null,
                applied_at timestamptz not null default now(),
                duration_ms integer not null default 0
            );
            """)
        var recorded: [String: Bool] = [:]  // name -> file unchanged
        for file in files {
            let rows = try await connection.query("""
                select checksum = encode(sha256(convert_to(\(file.sql), 'UTF8')), 'hex')
                from nightshift.schema_migrations where name = \(file.name)
                """)
            if let row = rows.first { recorded[file.name] = try row.decode(Bool.self, at: 0) }
        }
        try checkHistory(recorded: recorded, known: try await appliedNames(connection))

        var outcome = Outcome()
        for file in files {
            if recorded[file.name] != nil {
                outcome.alreadyApplied.append(file.name)
                continue
            }
            try await apply(file, on: connection)
            outcome.applied.append(file.name)
        }
        return outcome
    }

    private func appliedNames(_ connection: PostgresConnection) async throws -> [String] {
        try await connection.query("select name from nightshift.schema_migrations order by name")
            .map { try $0.decode(String.self, at: 0) }
    }

    /// Refuses a changed file, a deleted one, and one slipped in before the newest applied file.
    private func checkHistory(recorded: [String: Bool], known: [String]) throws {
        for file in files where recorded[file.name] == false {
            throw MigrationError(
                file: file.name,
                problem: "was changed after it was applied (its checksum differs from the one recorded); "
                    + "applied migrations are append-only: revert the edit and add a new migration instead")
        }
        let names = Set(files.map(\.name))
        if let missing = known.first(where: { !names.contains($0) }) {
            throw MigrationError(file: missing, problem: "is recorded as applied but is missing from the migrations folder")
        }
        if let newestApplied = known.max(),
           let late = files.first(where: { recorded[$0.name] == nil && $0.name < newestApplied }) {
            throw MigrationError(
                file: late.name,
                problem: "is not applied but sorts before the already applied \(newestApplied); renumber it after that one")
        }
    }

    private func apply(_ file: MigrationFile, on connection: PostgresConnection) async throws {
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
                insert into nightshift.schema_migrations (name, checksum, duration_ms)
                values (\(file.name), encode(sha256(convert_to(\(file.sql), 'UTF8')), 'hex'), \(milliseconds))
                """)
            try await connection.executeScript("commit")
            logger.info("applied migration", metadata: ["file": "\(file.name)", "duration_ms": "\(milliseconds)"])
            onApplied?(file.name, milliseconds)
        } catch {
            try? await connection.executeScript("rollback")
            throw Self.describe(error, file: file, statement: current)
        }
    }

    private static func describe(_ error: any Error, file: MigrationFile, statement: SQLScript.Statement?) -> MigrationError {
        guard let error = error as? PostgresError else {
            return MigrationError(file: file.name, line: statement?.line, problem: "\(error)")
        }
        var line = statement?.line
        if let statement, let position = error.position { line = statement.line(ofPosition: position) }
        var problem = error.message
        if let detail = error.detail { problem += " (detail: \(detail))" }
        if let hint = error.hint { problem += " (hint: \(hint))" }
        return MigrationError(file: file.name, line: line, sqlState: error.sqlState, problem: problem)
    }
}
