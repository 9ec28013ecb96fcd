import ArgumentParser
import Config
import EdgeFunctions
import Hummingbird
import Postgres
import Server

/// `nightshift serve`: the HTTP API and edge functions.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve GET /health and POST /functions/v1/<name> on [api] host:port.",
        discussion: "Stops gracefully on SIGINT or SIGTERM.")

    @OptionGroup var options: GlobalOptions

    @Option(help: "Port to listen on (overrides [api] port and NIGHTSHIFT_API_PORT).")
    var port: Int?

    func run() async throws {
        var config = try options.loadConfig()
        if let port { config.api.port = port }
        let logger = try options.bootstrapLogging(component: "server")
        let database = PostgresPool(
            configuration: PostgresConfiguration(url: config.database.url, applicationName: "nightshift-serve"),
            maxConnections: config.database.poolSize)
        do {
            let app = try await NightshiftServer.makeApplication(
                config: config, database: database, functions: Catalog.all, logger: logger)
            logger.info("serving", metadata: ["address": "\(config.api.host):\(config.api.port)", "functions": "\(Catalog.all.map(\.name))"])
            try await app.runService()
        } catch let error as ConfigError {
            await database.close()
            throw ValidationError("configuration error: \(error)")
        }
        await database.close()
    }
}
