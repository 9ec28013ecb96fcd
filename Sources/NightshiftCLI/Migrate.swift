import ArgumentParser
import Foundation
import Migrations
import Postgres

/// `nightshift migrate`: applies pending migrations in order, or lists them (`--list`), or says
/// what it would apply (`--dry-run`).
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the SQL migrations under sql/migrations to the database.",
        discussion: """
            Files apply in name order (0001_..., 0002_...), each in its own transaction, and are
            recorded with their checksum in nightshift.schema_migrations; a line per file with its
            duration is printed as it commits. A changed applied file stops the run; two runners
            at once take turns on an advisory lock.
            --list shows every file (applied or pending, when, checksum ok or changed) and
            --dry-run what would apply after the same checks; neither writes anything.
            """)

    @OptionGroup var options: GlobalOptions

    @Option(help: "Folder of migration files.")
    var migrations = "sql/migrations"

    @Flag(help: "List every migration: applied or pending, applied_at, checksum ok or changed. Writes nothing.")
    var list = false

    @Flag(help: "Print what would apply, after the same checks as a real run. Writes nothing.")
    var dryRun = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if list && dryRun { throw ValidationError("--list and --dry-run do not go together") }
    }

    /// JSON keys: name, state (applied, pending, or missing: recorded but no longer a file),
    /// applied_at (ISO 8601, UTC, or null), checksum (ok, changed, or null when not applied),
    /// duration_ms (or null).
    static var listing: Listing<Migrator.FileStatus> { Listing(
        json: { file in
            [
                ("name", .string(file.name)), ("state", .string(file.state.rawValue)), ("applied_at", .date(file.appliedAt)),
                ("checksum", .optional(file.checksumMatches.map { $0 ? "ok" : "changed" })),
                ("duration_ms", .optional(file.durationMilliseconds)),
            ]
        },
        columns: [
            ("migration", \.name), ("state", \.state.rawValue), ("applied (UTC)", { tableDate($0.appliedAt) }),
            ("checksum", { file in file.checksumMatches.map { $0 ? "ok" : "changed" } ?? "-" }),
            ("ms", { $0.durationMilliseconds.map(String.init) ?? "-" }),
        ]) }

    func run() async throws {
        let config = try options.loadConfig()
        let logger = try options.bootstrapLogging(component: "migrate")
        let files = try MigrationFile.load(from: migrations)
        let url = config.database.migrationURL
        do {
            if list || dryRun {
                let connection = try await PostgresConnection.connect(PostgresConfiguration(url: url, applicationName: "nightshift-migrate"))
                defer { Task { await connection.close() } }
                let migrator = Migrator(files: files, logger: logger)
                if list {
                    print(Self.listing.render(try await migrator.status(on: connection), as: output.output))
                } else {
                    let pending = Set(try await migrator.plan(on: connection))
                    let statuses = try await migrator.status(on: connection).filter { pending.contains($0.name) }
                    if output.output == .json {
                        print(Self.listing.render(statuses, as: .json))
                    } else {
                        print("migrate --dry-run: \(pending.count) would apply, \(files.count - pending.count) already applied; nothing written")
                        for status in statuses { print("  would apply \(status.name)") }
                    }
                }
                return
            }
            let started = ContinuousClock.now
            let outcome = try await Migrator(files: files, logger: logger) { name, milliseconds in
                print("  applied \(name) (\(milliseconds) ms)")
                fflush(nil)
            }.run(databaseURL: url)
            let elapsed = ContinuousClock.now - started
            print("migrate: \(outcome.applied.count) applied, \(outcome.alreadyApplied.count) already applied (\(secondsText(elapsed)))")
        } catch let error as MigrationError {
            printError("migrate: failed: \(error)")
            throw ExitCode.failure
        }
    }
}

func printError(_ message: String) {
    var standardError = StandardError()
    print(message, to: &standardError)
}

/// Lets `print` write to standard error.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleOutput.standardError(string)
    }
}
