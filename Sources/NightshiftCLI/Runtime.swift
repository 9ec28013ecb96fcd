import Foundation
import ArgumentParser
import Config
import Engine
import HTTPClient
import Logging
import NightshiftKit
import Notifications
import Observability
import Postgres
import ServiceLifecycle

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
        database = Self.pool(
            config.database, applicationName: applicationName, statementTimeout: config.database.workerStatementTimeout,
            size: config.database.poolSize + extraConnections)
        let context = PackContext(config: config, http: http, logger: logger)
        var registry = try FunctionRegistry(Functions.all(context, packs: Composition.current.packs))
        for id in registry.apply(config) {
            logger.warning("config sets a job that no function declares", metadata: ["key": "jobs.\"\(id)\"", "file": "\(config.source)"])
        }
        self.registry = registry
    }

    var client: EngineClient { EngineClient(database: database) }

    /// A pool with the `[db]` timeouts; a `Service`, so the process's lifecycle closes idle
    /// connections and closes it last on shutdown.
    static func pool(_ settings: DatabaseSettings, applicationName: String, statementTimeout: Duration, size: Int) -> PostgresPool {
        PostgresPool(
            configuration: PostgresConfiguration(
                url: settings.url, applicationName: applicationName,
                statementTimeout: statementTimeout, idleInTransactionTimeout: settings.idleInTransactionTimeout,
                preparesStatements: settings.preparedStatements),
            maxConnections: size, acquireTimeout: .seconds(10),
            idleTimeout: settings.idleTimeout, minimumIdle: min(settings.minIdle, size))
    }

    /// The HTTP API's own connections, with the short API statement timeout: a flood of requests
    /// waits for these and cannot take the connections the worker, ticker and dispatcher need.
    func apiPool() -> PostgresPool {
        Self.pool(
            config.database, applicationName: "nightshift-api", statementTimeout: config.database.apiStatementTimeout,
            size: config.database.poolSize)
    }

    /// A service group that stops on SIGTERM/SIGINT within `drain` plus 5 s whatever its
    /// services do: graceful shutdown gets `drain` + 3 s, then cancellation gets 2 s before the
    /// lifecycle ends the process.
    func serviceGroup(_ services: [any Service], drain: Duration) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = drain + .seconds(3)
        configuration.maximumCancellationDuration = .seconds(2)
        return ServiceGroup(configuration: configuration)
    }

    /// Waits until the database answers, for up to `limit` (see `DatabaseWait`).
    func waitForDatabase(upTo limit: Duration) async throws {
        try await DatabaseWait(limit: limit, logger: logger).until { try await database.execute("select 1") }
    }

    /// The login must hold no more than 0040_auth.sql gives nightshift_app: a superuser,
    /// bypassrls or owning login is refused when the API listens beyond loopback, and warned
    /// about otherwise (tests and benchmarks log in as the owner of their throwaway databases).
    func checkLoginRole(exposed: Bool) async throws {
        let row = try await database.query("""
            select r.rolname::text, r.rolsuper, r.rolbypassrls,
                   exists (select from pg_namespace n where n.nspname = 'nightshift' and n.nspowner = r.oid)
            from pg_roles r where r.rolname = current_user
            """)[0]
        let (user, superuser, bypassRLS, owner) = try row.decode(String.self, Bool.self, Bool.self, Bool.self)
        let powers = [superuser ? "a superuser" : nil, bypassRLS ? "bypassrls" : nil, owner ? "the owner of schema nightshift" : nil]
            .compactMap { $0 }
        guard !powers.isEmpty else { return }
        let problem = "the database login \(user) is \(powers.joined(separator: ", ")): log in as nightshift_app "
            + "([db] url or DATABASE_URL) and keep the owner for migrations ([db] owner_url or DATABASE_OWNER_URL)"
        if exposed { throw ValidationError("refusing to serve beyond loopback: \(problem)") }
        logger.warning("database login is not least privilege", metadata: ["problem": "\(problem)"])
    }

    /// Writes `[notifications]` (the daily cap, the enabled channels) into the database; once at start-up.
    func configureNotifications() async throws {
        do {
            try await Notifier(database: database).configure(from: config.notifications)
        } catch let error as PostgresError where error.sqlState == "3F000" {  // invalid_schema_name
            throw ValidationError("the notify schema is missing: run `nightshift migrate` first (\(error.message))")
        }
    }

    /// Writes `[scheduler]` retention, prune_every and retired_grace into `nightshift.settings`
    /// (a key left out keeps the database's value); once at start-up.
    func configureEngine() async throws {
        let scheduler = config.scheduler
        func interval(_ duration: Duration?) -> String? {
            duration.map { "\(milliseconds($0)) milliseconds" }
        }
        guard scheduler.retention != nil || scheduler.pruneEvery != nil || scheduler.retiredGrace != nil else { return }
        try await database.execute("""
            select nightshift.configure(retired_grace => \(interval(scheduler.retiredGrace))::interval,
                retention => \(interval(scheduler.retention))::interval, prune_every => \(interval(scheduler.pruneEvery))::interval)
            """)
    }

    /// The notification outbox dispatcher for the configured channels; runs beside the worker.
    var deliveryDispatcher: DeliveryDispatcher {
        DeliveryDispatcher(database: database, settings: config.notifications, logger: logger)
    }
    /// The OTLP trace exporter's service when `[observability] otlp_endpoint` or the
    /// `OTEL_EXPORTER_OTLP_*` variables name a collector, else `nil` (spans go nowhere).
    /// Commands that execute runs put it first in their `ServiceGroup`: services stop in reverse
    /// order, so the exporter outlives the worker and flushes the spans of its last runs.
    func bootstrapTracing() throws -> (any Service)? {
        do {
            return try TracingSetup.bootstrap(
                otlpEndpoint: config.observability.otlpEndpoint, serviceVersion: Nightshift.version,
                logger: Logger(label: "tracing"))
        } catch {
            throw ValidationError("tracing: \(error)")
        }
    }
}

/// Parses a run id argument with a clear message.
func parseRunID(_ text: String) throws -> UUID {
    guard let id = UUID(uuidString: text) else { throw ValidationError("\"\(text)\" is not a run id (a UUID)") }
    return id
}

