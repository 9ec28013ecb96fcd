import ArgumentParser
import Migrations

/// `nightshift migrate`: applies pending migrations in order.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the SQL migrations under sql/migrations to the database.",
        discussion: """
            Files apply in name order (0001_..., 0002_...), each in its own transaction, and are
            recorded with their checksum in nightshift.schema_migrations. A changed applied file
            stops the run; two runners at once take turns on an advisory lock.
            """)

    @OptionGroup var options: GlobalOptions

    @Option(help: "Folder of migration files.")
    var migrations = "sql/migrations"

    func run() async throws {
        let config = try options.loadConfig()
        let logger = try options.bootstrapLogging(component: "migrate")
        let files = try MigrationFile.load(from: migrations)
        do {
            let outcome = try await Migrator(files: files, logger: logger).run(databaseURL: config.database.migrationURL)
            print("migrate: \(outcome.applied.count) applied, \(outcome.alreadyApplied.count) already applied")
            for name in outcome.applied { print("  applied \(name)") }
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
