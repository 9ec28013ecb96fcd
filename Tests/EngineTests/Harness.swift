import Config
import Foundation
import Logging
import Postgres
import TestSupport
import Testing

@testable import Engine

/// A worker running in this process against a migrated temporary database.
struct Harness {
    let url: String
    let database: PostgresPool
    let registry: FunctionRegistry
    let client: EngineClient

    init(url: String, functions: [NightshiftFunction], schedulesEnabled: Bool = true) async throws {
        self.url = url
        database = PostgresPool(configuration: PostgresConfiguration(url: url, applicationName: "engine-tests"), maxConnections: 6, acquireTimeout: .seconds(10))
        var registry = try FunctionRegistry(functions)
        if !schedulesEnabled {
            var config = try NightshiftConfig.parse(Harness.minimalConfig, source: "test")
            config.scheduler.enabled = false
            registry.apply(config)
        }
        self.registry = registry
        client = EngineClient(database: database)
        try await registry.sync(to: database)
    }

    static let minimalConfig = """
        [auth]
        jwt_secret = "0123456789abcdef0123456789abcdef"
        anon_key = "a"
        service_role_key = "s"
        """

    static let logger: Logger = {
        var logger = Logger(label: "engine-tests")
        logger.logLevel = .warning
        return logger
    }()

    /// Runs a worker (with its own pool, like another process would) while `body` runs; through
    /// `proxyURL` (a pooler in front of the database) when given.
    @discardableResult
    func withWorker<T>(
        concurrency: Int = 8, lease: Duration = .seconds(30), workerID: String = "test-worker", pollInterval: Duration = .milliseconds(100),
        bookkeepingCommits: CommitDurability = .asynchronous, claimOnNotification: Bool = true, pickupObserver: PickupObserver? = nil,
        logger: Logger = Harness.logger, through proxyURL: String? = nil, _ body: () async throws -> T
    ) async throws -> T {
        try await withWorker(concurrency: concurrency, lease: lease, workerID: workerID, pollInterval: pollInterval,
                             bookkeepingCommits: bookkeepingCommits, claimOnNotification: claimOnNotification,
                             pickupObserver: pickupObserver, logger: logger, through: proxyURL) { (_: Worker) in try await body() }
    }

    /// The same, with the worker in hand: for a test that must know what it holds (its free slots).
    @discardableResult
    func withWorker<T>(
        concurrency: Int = 8, lease: Duration = .seconds(30), workerID: String = "test-worker", pollInterval: Duration = .milliseconds(100),
        bookkeepingCommits: CommitDurability = .asynchronous, claimOnNotification: Bool = true, pickupObserver: PickupObserver? = nil,
        logger: Logger = Harness.logger, through proxyURL: String? = nil, _ body: (Worker) async throws -> T
    ) async throws -> T {
        let pool = PostgresPool(configuration: PostgresConfiguration(url: proxyURL ?? url, applicationName: workerID), maxConnections: 6, acquireTimeout: .seconds(10))
        var options = WorkerOptions(concurrency: concurrency, lease: lease, pollInterval: pollInterval, drainTimeout: .seconds(2), workerID: workerID,
            bookkeepingCommits: bookkeepingCommits)
        options.claimOnNotification = claimOnNotification
        options.pickupObserver = pickupObserver
        let worker = Worker(registry: registry, database: pool, options: options, logger: logger)
        let task = Task { try await worker.run() }
        do {
            let result = try await body(worker)
            task.cancel()
            _ = await task.result
            await pool.close()
            return result
        } catch {
            task.cancel()
            _ = await task.result
            await pool.close()
            throw error
        }
    }

    /// Waits until the run reaches `status` (or fails the test after `timeout`).
    @discardableResult
    func wait(for runID: UUID, status: String, timeout: Duration = .seconds(20)) async throws -> RunRecord {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let run = try await client.run(runID), run.status == status { return run }
            try await Task.sleep(for: .milliseconds(50))
        }
        let run = try await client.run(runID)
        Issue.record("run \(runID) did not reach \(status) within \(timeout); it is \(run?.status ?? "missing"); \(try await activity())")
        throw HarnessTimeout()
    }

    /// What each connection to the test database is doing: for a failure's message, so a timeout
    /// on a loaded CI machine says whether the worker was connected, listening or stuck.
    func activity() async throws -> String {
        let rows = try await database.query("""
            select concat_ws(' ', application_name, pid, state, wait_event, left(regexp_replace(query, '\\s+', ' ', 'g'), 60))
            from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() order by pid
            """)
        return "connections: " + (try rows.map { try $0.decode(String.self, at: 0) }.joined(separator: " | "))
    }

    func count(_ query: PostgresQuery) async throws -> Int {
        try await database.query(query)[0].decode(Int.self, at: 0)
    }

    func close() async {
        await database.close()
    }
}

struct HarnessTimeout: Error {}

/// Runs `body` with a harness on a fresh migrated database.
func withEngine<T>(
    _ functions: [NightshiftFunction], schedulesEnabled: Bool = true,
    _ body: (Harness) async throws -> T
) async throws -> T {
    try await TestDatabase.withMigratedDatabase { url async throws in
        let harness = try await Harness(url: url, functions: functions, schedulesEnabled: schedulesEnabled)
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
