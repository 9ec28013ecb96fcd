import ArgumentParser
import Foundation
import Migrations
import Postgres

/// `nightshift migrate`: applies pending migrations in order, or lists them (`--list`), or says
/// what it would apply (`--dry-run`).
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the SQL migrations built into the binary (the engine's, then each pack's) to the database.",
        discussion: """
            Components apply in order, each after the ones it requires (the engine first, then
            each pack); a component's files apply in name order (0001_..., 0002_...), each in its
            own transaction, and are recorded with component and checksum in
            nightshift.schema_migrations; a line per file with its duration is printed as it
            commits. A changed applied file stops the run; two runners at once take turns on an
            advisory lock. --only engine applies the engine's alone; --only PACK the engine's and
            the pack's (what a component requires always comes along).
            --list shows every file (applied or pending, when, checksum ok or changed; rows of
            components not in this build as not-in-build) and --dry-run what would apply after
            the same checks; neither writes anything.
            """)

    @OptionGroup var options: GlobalOptions

    @OptionGroup var source: MigrationSourceOptions

    @OptionGroup var selection: ComponentSelection

    @Flag(help: "List every migration: applied or pending, applied_at, checksum ok or changed. Writes nothing.")
    var list = false

    @Flag(help: "Print what would apply, after the same checks as a real run. Writes nothing.")
    var dryRun = false

    @OptionGroup var output: OutputOptions

    @OptionGroup var databaseWait: DatabaseWaitOptions

    func validate() throws {
        if list && dryRun { throw ValidationError("--list and --dry-run do not go together") }
    }

    /// JSON keys: component (engine, a pack; null for a row recorded before components that no
    /// file of this build matches), name, state (applied, pending, missing: recorded but no longer
    /// a file of its component, or not-in-build: recorded for a component this binary does not
    /// apply, left alone), applied_at (ISO 8601, UTC, or null), checksum (ok, changed, or null
    /// when not compared), duration_ms (or null).
    static var listing: Listing<Migrator.FileStatus> { Listing(
        json: { file in
            [
                ("component", .optional(file.component.isEmpty ? nil : file.component)), ("name", .string(file.name)),
                ("state", .string(file.state.rawValue)), ("applied_at", .date(file.appliedAt)),
                ("checksum", .optional(file.checksumMatches.map { $0 ? "ok" : "changed" })),
                ("duration_ms", .optional(file.durationMilliseconds)),
            ]
        },
        columns: [
            ("component", { $0.component.isEmpty ? "-" : $0.component }), ("migration", \.name), ("state", \.state.rawValue),
            ("applied (UTC)", { tableDate($0.appliedAt) }),
            ("checksum", { file in file.checksumMatches.map { $0 ? "ok" : "changed" } ?? "-" }),
            ("ms", { $0.durationMilliseconds.map(String.init) ?? "-" }),
        ]) }

    func run() async throws {
        let config = try options.loadConfig()
        let logger = try options.bootstrapLogging(component: "migrate")
        let url = config.database.migrationURL
        do {
            let sets = try selection.select(from: try source.all())
            try await DatabaseWait(limit: databaseWait.limit, logger: logger).until {
                try await PostgresConnection.connect(PostgresConfiguration(url: url, applicationName: "nightshift-migrate")).close()
            }
            if list || dryRun {
                let connection = try await PostgresConnection.connect(PostgresConfiguration(url: url, applicationName: "nightshift-migrate"))
                defer { Task { await connection.close() } }
                let migrator = Migrator(sets: sets, logger: logger)
                if list {
                    print(Self.listing.render(try await migrator.status(on: connection), as: output.output))
                } else {
                    let pending = Set(try await migrator.plan(on: connection))
                    let statuses = try await migrator.status(on: connection).filter { pending.contains($0.key) }
                    let files = sets.reduce(0) { $0 + $1.files.count }
                    if output.output == .json {
                        print(Self.listing.render(statuses, as: .json))
                    } else {
                        print("migrate --dry-run: \(pending.count) would apply, \(files - pending.count) already applied; nothing written")
                        for status in statuses { print("  would apply \(status.key)") }
                    }
                }
                return
            }
            let started = ContinuousClock.now
            let outcome = try await Migrator(sets: sets, logger: logger) { component, name, milliseconds in
                print("  applied \(component)/\(name) (\(milliseconds) ms)")
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
