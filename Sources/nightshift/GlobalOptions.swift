import ArgumentParser
import Config
import Logging
import Observability

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Config file (default: $NIGHTSHIFT_CONFIG or supabase-like-config/config.toml).")
    var config: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (default info, or $NIGHTSHIFT_LOG_LEVEL).")
    var logLevel: String?

    /// Reads the config, turning a config error into a clean exit that names the key.
    func loadConfig() throws -> NightshiftConfig {
        do {
            return try NightshiftConfig.load(path: config ?? NightshiftConfig.defaultPath())
        } catch let error as ConfigError {
            throw ValidationError("configuration error: \(error)")
        }
    }

    /// Sets up JSON-lines logging and returns the logger for `component`.
    func bootstrapLogging(component: String) throws -> Logger {
        var level = Logger.Level.info
        if let logLevel {
            guard let parsed = Logger.Level(rawValue: logLevel.lowercased()) else {
                throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
            }
            level = parsed
        }
        LogSetup.bootstrap(level: level)
        return Logger(label: component)
    }
}
