import ArgumentParser

/// The `nightshift` command: migrate the database, serve the API, inspect state. An
/// application runs it through ``NightshiftCLI/main(packs:edgeFunctions:)``.
struct Nightshift: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "nightshift",
        abstract: "Scheduled and event-driven background work on PostgreSQL.",
        discussion: """
            Start with `make run` (embedded database, migrations, server), or by hand:
              nightshift migrate     apply the engine's and packs' migrations to DATABASE_URL
              nightshift serve       serve /health and /functions/v1/<name>
              nightshift status      show the database and migration state
            Listings (runs, schedules, status, functions list, migrate --list) take
            --output table|json. Shell completion:
              nightshift --generate-completion-script bash|zsh|fish
            Configuration comes from supabase-like-config/config.toml and the environment
            (DATABASE_URL, NIGHTSHIFT_*, ENABLE_SCHEDULED_JOBS, ...); see the README.
            """,
        version: version,
        subcommands: [
            Migrate.self, DBCommand.self, Serve.self, WorkerCommand.self, RunCommand.self, RunsCommand.self, SchedulesCommand.self,
            FunctionsCommand.self, CancelCommand.self, RerunCommand.self, Status.self, TokenCommand.self, KeysCommand.self,
            Version.self,
        ]
    )
}
