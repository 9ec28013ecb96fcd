import ArgumentParser
import Config
import Engine
import Hummingbird
import NightshiftKit
import Observability
import Postgres
import Server
import ServiceLifecycle

/// `nightshift serve`: the HTTP API and edge functions, and (unless told otherwise) the
/// worker and ticker in the same process: one binary is a whole Nightshift.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API on [api] host:port, with a worker, the ticker and the notification dispatcher.",
        discussion: """
            Routes: GET /health, POST /functions/v1/<name>, /api/v1/... (service role), GET /metrics.
            With --no-worker only the API runs (run `nightshift worker` elsewhere; it dispatches notifications too).
            Stops gracefully on SIGINT or SIGTERM.
            """)

    @OptionGroup var options: GlobalOptions

    @Option(help: "Port to listen on (overrides [api] port and NIGHTSHIFT_API_PORT).")
    var port: Int?

    @Option(help: "Runs executing at once in the embedded worker.")
    var concurrency = 20

    @Flag(help: "Serve the API only: no worker, no ticker, no notification dispatcher.")
    var noWorker = false

    @OptionGroup var shutdown: ShutdownOptions

    @OptionGroup var databaseWait: DatabaseWaitOptions

    func run() async throws {
        let metrics = MetricsSetup.bootstrapPrometheus()
        var runtime = try Runtime(options: options, component: "server", applicationName: "nightshift-serve", extraConnections: 2)
        if let port { runtime.config.api.port = port }
        let config = runtime.config
        let tracing = try runtime.bootstrapTracing()
        let apiDatabase = runtime.apiPool()
        do {
            let composition = Composition.current
            let edgeFunctions = composition.edgeFunctions + composition.packs.flatMap(\.edgeFunctions)
            let app = try await NightshiftServer.makeApplication(
                config: config, database: apiDatabase, functions: edgeFunctions,
                routes: composition.packs.flatMap(\.routes), health: composition.packs.flatMap(\.consoleHealth), metrics: metrics,
                logger: runtime.logger)
            // Pools first and tracing next: services stop in reverse order, so the pools close
            // last and the exporter flushes after the worker stopped.
            var services: [any Service] = [runtime.database, apiDatabase]
            services += tracing.map { [$0] } ?? []
            services.append(app)
            try await runtime.waitForDatabase(upTo: databaseWait.limit)
            try await runtime.checkLoginRole(exposed: !config.api.isLoopback)
            try await runtime.configureNotifications()
            try await runtime.configureEngine()
            if !noWorker {
                try await runtime.registry.sync(to: runtime.database)
                services.append(runtime.deliveryDispatcher)
                services.append(Worker(
                    registry: runtime.registry, database: runtime.database,
                    options: WorkerOptions(concurrency: concurrency, drainTimeout: shutdown.drainTimeout), logger: runtime.logger,
                    defined: Functions.defined(config: config, http: runtime.http)))
                services.append(Ticker(database: runtime.database, logger: runtime.logger))
            }
            runtime.logger.info("serving", metadata: [
                "address": "\(config.api.host):\(config.api.port)", "edge_functions": "\(edgeFunctions.map(\.name))", "packs": "\(composition.packs.map(\.name))",
                "worker": "\(!noWorker)",
            ])
            try await runtime.serviceGroup(services, drain: shutdown.drainTimeout).run()
        } catch let error as ConfigError {
            await apiDatabase.close()
            await runtime.database.close()
            throw ValidationError("configuration error: \(error)")
        }
        await apiDatabase.close()
        await runtime.database.close()
    }
}
