import Foundation
import Logging

/// Sets up swift-log once for the process: JSON lines at the given level.
public enum LogSetup {
    /// Bootstraps the global logging system; `NIGHTSHIFT_LOG_LEVEL` overrides `level`.
    public static func bootstrap(level: Logger.Level = .info, environment: [String: String] = ProcessInfo.processInfo.environment) {
        let resolved = environment["NIGHTSHIFT_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? level
        LoggingSystem.bootstrap { label in JSONLogHandler(component: label, level: resolved) }
    }
}
