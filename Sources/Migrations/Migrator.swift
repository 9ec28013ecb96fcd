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

    let files: [MigrationFile]
    let logger: Logger

    public init(files: [MigrationFile], logger: Logger = Logger(label: "migrate")) {
        self.files = files
        self.logger = logger
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
