import ArgumentParser
import Migrations
import Postgres

/// `nightshift status`: what the database and the migrations look like.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the database server, and applied and pending migrations.",
        discussion: "One row per check: database, pg_cron, migrations, then each pending migration. Exits non-zero when the database is unreachable.")

    @OptionGroup var options: GlobalOptions

    @OptionGroup var source: MigrationSourceOptions

    @OptionGroup var output: OutputOptions

    struct Check {
        var check, state, detail: String
    }

    /// JSON keys: check (database, pg_cron, migrations, or migration COMPONENT/NAME), state (up,
    /// unreachable, available, not installed, N applied, pending), detail.
    static var listing: Listing<Check> { Listing(
        json: { [("check", .string($0.check)), ("state", .string($0.state)), ("detail", .string($0.detail))] },
        columns: [("check", \.check), ("state", \.state), ("detail", \.detail)]) }

    func run() async throws {
        let config = try options.loadConfig()
        _ = try options.bootstrapLogging(component: "status")
        let sets = try source.all()
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
        let statuses = try await Migrator(sets: sets).status(on: connection)
        await connection.close()
        let pending = statuses.filter { $0.state == .pending }
        let elsewhere = statuses.filter { $0.state == .notInBuild }.count
        var detail = "\(pending.count) pending"
        if elsewhere > 0 { detail += ", \(elsewhere) of components not in this build" }
        checks.append(Check(check: "migrations", state: "\(statuses.count - pending.count) applied", detail: detail))
        for file in pending { checks.append(Check(check: "migration \(file.key)", state: "pending", detail: "")) }
        print(Self.listing.render(checks, as: output.output))
    }
}
