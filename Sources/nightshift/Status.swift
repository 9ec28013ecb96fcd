import ArgumentParser
import Migrations
import Postgres

/// `nightshift status`: what the database and the migrations look like.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the database server, and applied and pending migrations.")

    @OptionGroup var options: GlobalOptions

    @Option(help: "Folder of migration files.")
    var migrations = "sql/migrations"

    func run() async throws {
        let config = try options.loadConfig()
        _ = try options.bootstrapLogging(component: "status")
        let files = try MigrationFile.load(from: migrations)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                PostgresConfiguration(url: config.database.url, applicationName: "nightshift-status"))
        } catch {
            print("database: unreachable (\(error))")
            throw ExitCode.failure
        }
        let version = try await connection.query("select current_setting('server_version'), current_database()")
        print("database: up, PostgreSQL \(try version[0].decode(String.self, at: 0)), database \(try version[0].decode(String.self, at: 1))")
        let cron = try await connection.query("select count(*) from pg_available_extensions where name = 'pg_cron'")
        print("pg_cron: \(try cron[0].decode(Int.self, at: 0) > 0 ? "available" : "not installed")")
        let table = try await connection.query("select to_regclass('nightshift.schema_migrations') is not null")
        var applied: Set<String> = []
        if try table[0].decode(Bool.self, at: 0) {
            applied = Set(try await connection.query("select name from nightshift.schema_migrations").map { try $0.decode(String.self, at: 0) })
        }
        let pending = files.filter { !applied.contains($0.name) }
        print("migrations: \(applied.count) applied, \(pending.count) pending")
        for file in pending { print("  pending \(file.name)") }
        await connection.close()
    }
}
