import Config
import CoveragePack
import DossierPack
import EdgeFunctions
import Engine
import Foundation
import HTTPClient
import Logging
import NightshiftKit
import PortfolioPack
import Postgres
import Server
import ServiceLifecycle
import Testing
import TestSupport

/// A migrated database with a pack's functions synced, a worker to run them, and (when a job
/// calls the API) the real server on a loopback port.
struct PackHarness {
    let url: String
    /// The owner's connections: the tests' own setup and inspection.
    let database: PostgresPool
    /// What the worker and the server log in as: nightshift_app, as in production.
    let appDatabase: PostgresPool
    let config: NightshiftConfig
    let http = HTTPClient()
    static let logger: Logger = {
        var logger = Logger(label: "pack-tests")
        logger.logLevel = .warning
        return logger
    }()

    /// This repository's packs, as the `nightshift` binary composes them.
    static let packs: [any Pack] = [DossierPack(), CoveragePack(), PortfolioPack()]

    /// The project's development config, on a free loopback port, with the scheduler as asked.
    static func config(schedulesEnabled: Bool = true) throws -> NightshiftConfig {
        var config = try NightshiftConfig.load(
            path: TestDatabase.projectRoot.appendingPathComponent("supabase-like-config/config.toml").path, environment: [:],
            sections: packs.flatMap(\.configSections))
        config.api.host = "127.0.0.1"
        config.api.port = try freeLoopbackPort()
        config.scheduler.enabled = schedulesEnabled
        return config
    }

    init(url: String, config: NightshiftConfig) {
        self.url = url
        self.config = config
        database = PostgresPool(configuration: PostgresConfiguration(url: url, applicationName: "pack-tests"), maxConnections: 6, acquireTimeout: .seconds(10))
        appDatabase = PostgresPool(
            configuration: PostgresConfiguration(url: TestDatabase.appURL(url), applicationName: "pack-tests-app"), maxConnections: 6,
            acquireTimeout: .seconds(10))
    }

    /// What `pack` declares under this harness's config.
    func functions(_ pack: some Pack) throws -> [NightshiftFunction] {
        try pack.functions(context)
    }

    var context: PackContext { PackContext(config: config, http: http, logger: Self.logger) }

    func registry(_ functions: [NightshiftFunction]) async throws -> FunctionRegistry {
        var registry = try FunctionRegistry(functions)
        registry.apply(config)
        try await registry.sync(to: appDatabase)
        return registry
    }

    /// Runs a worker for `functions` while `body` runs.
    @discardableResult
    func withWorker<T>(_ registry: FunctionRegistry, logger: Logger = Self.logger, _ body: () async throws -> T) async throws -> T {
        let worker = Worker(
            registry: registry, database: appDatabase,
            options: WorkerOptions(concurrency: 4, pollInterval: .milliseconds(100), drainTimeout: .seconds(2), workerID: "pack-tests"),
            logger: logger)
        let task = Task { try await worker.run() }
        defer { task.cancel() }
        let result = try await body()
        task.cancel()
        _ = await task.result
        return result
    }

    /// Serves the API (edge functions included) on `config.api.port` while `body` runs.
    func withServer<T>(_ body: () async throws -> T) async throws -> T {
        let app = try await NightshiftServer.makeApplication(
            config: config, database: appDatabase, functions: Catalog.all + Self.packs.flatMap(\.edgeFunctions),
            routes: Self.packs.flatMap(\.routes), logger: Self.logger)
        let task = Task { try await app.runService() }
        defer { task.cancel() }
        let health = "http://127.0.0.1:\(config.api.port)/health"
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if (try? await http.execute(HTTPRequest(url: health))) != nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await body()
    }

    func trigger(_ function: String, payload: String = "{}") async throws -> UUID {
        try await EngineClient(database: database).trigger(function, payloadJSON: payload)
    }

    /// Waits until the run reaches `status`, and returns it.
    @discardableResult
    func wait(for id: UUID, status: String, timeout: Duration = .seconds(30)) async throws -> RunRecord {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let run = try await EngineClient(database: database).run(id), run.status == status { return run }
            try await Task.sleep(for: .milliseconds(50))
        }
        let run = try await EngineClient(database: database).run(id)
        Issue.record("run \(id) did not reach \(status) within \(timeout); it is \(run?.status ?? "missing") \(String(describing: run?.error))")
        throw CancellationError()
    }

    func count(_ query: PostgresQuery) async throws -> Int {
        try await database.query(query)[0].decode(Int.self, at: 0)
    }

    func close() async {
        await database.close()
        await appDatabase.close()
        await http.shutdown()
    }
}

/// Runs `body` with a harness over a fresh migrated database.
func withPack<T>(schedulesEnabled: Bool = true, _ body: (PackHarness) async throws -> T) async throws -> T {
    try await TestDatabase.withMigratedDatabase { url async throws in
        let harness = PackHarness(url: url, config: try PackHarness.config(schedulesEnabled: schedulesEnabled))
        do {
            let result = try await body(harness)
            await harness.close()
            return result
        } catch {
            await harness.close()
            throw error
        }
    }
}
