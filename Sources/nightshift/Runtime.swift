import Foundation
import ArgumentParser
import Config
import Engine
import HTTPClient
import Logging
import Notifications
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

    /// Writes `[notifications]` (the daily cap, the enabled channels) into the database; once at start-up.
    func configureNotifications() async throws {
        do {
            try await Notifier(database: database).configure(from: config.notifications)
        } catch let error as PostgresError where error.sqlState == "3F000" {  // invalid_schema_name
            throw ValidationError("the notify schema is missing: run `nightshift migrate` first (\(error.message))")
        }
    }

    /// The notification outbox dispatcher for the configured channels; runs beside the worker.
    var deliveryDispatcher: DeliveryDispatcher {
        DeliveryDispatcher(database: database, settings: config.notifications, logger: logger)
    }
}

/// Parses a run id argument with a clear message.
func parseRunID(_ text: String) throws -> UUID {
    guard let id = UUID(uuidString: text) else { throw ValidationError("\"\(text)\" is not a run id (a UUID)") }
    return id
}

