import Foundation
import ArgumentParser
import Config
import Engine
import HTTPClient
import Logging
import Postgres

/// What the engine commands share: config, logging, a pool and the function registry.
struct Runtime {
    var config: NightshiftConfig
    let logger: Logger
    let database: PostgresPool
    let registry: FunctionRegistry
    /// The process's libcurl client (edge-function calls of jobs, webhook deliveries).
    let http = HTTPClient()

    init(options: GlobalOptions, component: String, applicationName: String, extraConnections: Int = 0) throws {
        config = try options.loadConfig()
        logger = try options.bootstrapLogging(component: component)
        database = PostgresPool(
            configuration: PostgresConfiguration(url: config.database.url, applicationName: applicationName),
            maxConnections: config.database.poolSize + extraConnections, acquireTimeout: .seconds(10))
        var registry = try FunctionRegistry(Functions.all(config: config, http: http))
        for id in registry.apply(config) {
            logger.warning("config sets a job that no function declares", metadata: ["key": "jobs.\"\(id)\"", "file": "\(config.source)"])
        }
        self.registry = registry
    }

    var client: EngineClient { EngineClient(database: database) }
}

/// Parses a run id argument with a clear message.
func parseRunID(_ text: String) throws -> UUID {
    guard let id = UUID(uuidString: text) else { throw ValidationError("\"\(text)\" is not a run id (a UUID)") }
    return id
}

