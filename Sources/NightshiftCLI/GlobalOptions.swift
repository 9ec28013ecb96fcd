import ArgumentParser
import Config
import Logging
import Observability

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Config file (default: $NIGHTSHIFT_CONFIG or supabase-like-config/config.toml).")
    var config: String?

    @Option(name: .long, help: "Log level (default info, or $NIGHTSHIFT_LOG_LEVEL).")
    var logLevel: LogLevel?

    /// swift-log's levels, as `--log-level` completes and validates them (any case accepted).
    enum LogLevel: String, ExpressibleByArgument, CaseIterable {
        case trace, debug, info, notice, warning, error, critical

        init?(argument: String) {
            self.init(rawValue: argument.lowercased())
        }
    }

    /// Reads the config, turning a config error into a clean exit that names the key.
    func loadConfig() throws -> NightshiftConfig {
        do {
            return try NightshiftConfig.load(path: config ?? NightshiftConfig.defaultPath(), sections: Composition.current.configSections)
        } catch let error as ConfigError {
            throw ValidationError("configuration error: \(error)")
        }
    }

    /// Sets up JSON-lines logging and returns the logger for `component`.
    func bootstrapLogging(component: String) throws -> Logger {
        var level = Logger.Level.info
        if let logLevel, let parsed = Logger.Level(rawValue: logLevel.rawValue) { level = parsed }
        LogSetup.bootstrap(level: level)
        return Logger(label: component)
    }
}
