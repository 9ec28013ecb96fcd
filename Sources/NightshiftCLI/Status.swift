import ArgumentParser
import Migrations
import Postgres

/// `nightshift status`: what the database and the migrations look like.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the database server, and applied and pending migrations.",
        discussion: "One row per check: database, pg_cron, migrations, then each pending migration. Exits non-zero when the database is unreachable.")

    @OptionGroup var options: GlobalOptions

    @Option(help: "Folder of migration files.")
    var migrations = "sql/migrations"

    @OptionGroup var output: OutputOptions

    struct Check {
        var check, state, detail: String
    }

    /// JSON keys: check (database, pg_cron, migrations, or migration NAME), state (up,
    /// unreachable, available, not installed, N applied, pending), detail.
    static var listing: Listing<Check> { Listing(
        json: { [("check", .string($0.check)), ("state", .string($0.state)), ("detail", .string($0.detail))] },
        columns: [("check", \.check), ("state", \.state), ("detail", \.detail)]) }

    func run() async throws {
        let config = try options.loadConfig()
        _ = try options.bootstrapLogging(component: "status")
        let files = try MigrationFile.load(from: migrations)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                PostgresConfiguration(url: config.database.url, applicationName: "nightshift-status"))
        } catch {
            print(Self.listing.render([Check(check: "database", state: "unreachable", detail: "\(error)")], as: output.output))
            throw ExitCode.failure
        }
        var checks: [Check] = []
        let version = try await connection.query("select current_setting('server_version'), current_database()")
        checks.append(Check(
            check: "database", state: "up",
            detail: "PostgreSQL \(try version[0].decode(String.self, at: 0)), database \(try version[0].decode(String.self, at: 1))"))
        let cron = try await connection.query("select count(*) from pg_available_extensions where name = 'pg_cron'")
        let cronAvailable = try cron[0].decode(Int.self, at: 0) > 0
        checks.append(Check(check: "pg_cron", state: cronAvailable ? "available" : "not installed", detail: ""))
        let table = try await connection.query("select to_regclass('nightshift.schema_migrations') is not null")
        var applied: Set<String> = []
        if try table[0].decode(Bool.self, at: 0) {
            applied = Set(try await connection.query("select name from nightshift.schema_migrations").map { try $0.decode(String.self, at: 0) })
        }
        await connection.close()
        let pending = files.filter { !applied.contains($0.name) }
        checks.append(Check(check: "migrations", state: "\(applied.count) applied", detail: "\(pending.count) pending"))
        for file in pending { checks.append(Check(check: "migration \(file.name)", state: "pending", detail: "")) }
        print(Self.listing.render(checks, as: output.output))
    }
}
