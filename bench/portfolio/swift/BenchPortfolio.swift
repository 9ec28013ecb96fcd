import Config
import CoveragePack
import DossierPack
import Engine
import Foundation
import HTTPClient
import Hummingbird
import JWTKit
import Logging
import Migrations
import NightshiftKit
import NightshiftSQL
import PortfolioPack
import PortfolioProviderStub
import BenchSupport
import Postgres
import Server
import Synchronization

/// bench-portfolio <server-url>
/// The portfolio pack at benchmark size (issue 6, "Benchmark (bench/portfolio)"), on a throwaway
/// database of the server: seed USERS users × HOLDINGS holdings over ASSETS assets (markets per
/// user 0: each user's scoring covers their holdings), run the real `portfolio/overnight-scoring`
/// in an in-process worker against the provider stub on loopback, wait for the
/// `portfolio/cache-warmer` run its event starts, then serve the real API in-process and read
/// GET /api/dashboard with N concurrent clients, from the cache and (briefly) with it emptied.
///
/// Environment: BENCH_USERS (100000), BENCH_ASSETS (5000), BENCH_HOLDINGS (20),
/// BENCH_WORKER_CONCURRENCY (4), BENCH_CLIENTS (50), BENCH_READ_SECONDS (20),
/// BENCH_READ_REQUESTS (20000), BENCH_MISS_SECONDS (5), BENCH_MISS_REQUESTS (2000),
/// BENCH_SERVER_POOL (8, the config's pool_size), BENCH_USERS_PER_BATCH (the config's users_per_batch), BENCH_DB (bench_portfolio),
/// BENCH_KEEP_DB=1 keeps the database, BENCH_RESULTS (JSON lines appended), BENCH_REPORT (markdown written).
@main
struct BenchPortfolio {
    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 2 else {
            FileHandle.standardError.write(Data("usage: bench-portfolio <server-url, e.g. postgresql://postgres@127.0.0.1:54329>\n".utf8))
            exit(2)
        }
        let environment = ProcessInfo.processInfo.environment
        func int(_ key: String, _ fallback: Int) -> Int { Int(environment[key] ?? "") ?? fallback }
        let bench = Bench(
            server: arguments[1], name: environment["BENCH_DB"] ?? "bench_portfolio",
            users: int("BENCH_USERS", 100_000), assets: int("BENCH_ASSETS", 5000), holdings: int("BENCH_HOLDINGS", 20),
            workerConcurrency: int("BENCH_WORKER_CONCURRENCY", 4), clients: int("BENCH_CLIENTS", 50),
            readSeconds: Double(int("BENCH_READ_SECONDS", 20)), readRequests: int("BENCH_READ_REQUESTS", 20_000),
            missSeconds: Double(int("BENCH_MISS_SECONDS", 5)), missRequests: int("BENCH_MISS_REQUESTS", 2000),
            serverPool: int("BENCH_SERVER_POOL", 8))
        do {
            try await bench.run()
        } catch {
            FileHandle.standardError.write(Data("bench-portfolio failed: \(error)\n".utf8))
            await bench.dropDatabase(keep: environment["BENCH_KEEP_DB"] == "1")
            exit(1)
        }
        await bench.dropDatabase(keep: environment["BENCH_KEEP_DB"] == "1")
    }
}

// @unchecked: the mutable state (`database`, `report`) is written only by `run()`'s own sequential
// flow, before any child task starts or after they all finished; the concurrent read clients and
// the RSS sampler only read `let` constants and call pure helpers.
final class Bench: BenchRun, @unchecked Sendable {
    let benchName = "portfolio"
    let server: String
    let name: String
    let users: Int
    let assets: Int
    let holdings: Int
    let workerConcurrency: Int
    let clients: Int
    let readSeconds: Double
    let readRequests: Int
    let missSeconds: Double
    let missRequests: Int
    let serverPool: Int
    var url: String { server + "/" + name }
    var database: PostgresPool!
    var report: [String] = []
    /// (moment, VmRSS MiB, VmHWM MiB, process CPU s)
    var memory: [(String, Double, Double, Double)] = []

    static let logger: Logger = {
        var logger = Logger(label: "bench-portfolio")
        logger.logLevel = .warning
        return logger
    }()

    init(server: String, name: String, users: Int, assets: Int, holdings: Int, workerConcurrency: Int, clients: Int,
         readSeconds: Double, readRequests: Int, missSeconds: Double, missRequests: Int, serverPool: Int) {
        self.server = server
        self.name = name
        self.users = users
        self.assets = assets
        self.holdings = holdings
        self.workerConcurrency = workerConcurrency
        self.clients = clients
        self.readSeconds = readSeconds
        self.readRequests = readRequests
        self.missSeconds = missSeconds
        self.missRequests = missRequests
        self.serverPool = serverPool
    }

    var settings: String {
        "\(users) users x \(holdings) holdings over \(assets) assets, markets_per_user 0; 1 Swift process (release): "
            + "provider stub, worker (concurrency \(workerConcurrency), pool 8), server (pool \(serverPool)), \(clients) HTTP clients"
    }

    func run() async throws {
        let clock = ContinuousClock()
        sampleMemory("process start")

        // 1. Throwaway database, migrations, the seed generator, the seed, vacuum analyze.
        var started = clock.now
        let admin = try await PostgresConnection.connect(PostgresConfiguration(url: server + "/postgres", applicationName: "bench-portfolio"))
        try await admin.executeScript("drop database if exists \(name) with (force)")
        try await admin.executeScript("create database \(name) template template0")
        await admin.close()
        _ = try await Migrator(sets: [try NightshiftSQL.engineMigrations(), try NightshiftSQL.migrations("portfolio")], logger: Self.logger).run(databaseURL: url)
        let migrateSeconds = (clock.now - started).seconds
        say("database \(name): created and migrated in \(f(migrateSeconds, 1)) s")

        database = PostgresPool(
            configuration: PostgresConfiguration(url: url, applicationName: "bench-portfolio"), maxConnections: 8, acquireTimeout: .seconds(60))
        let script = try String(contentsOfFile: "sql/seed/portfolio_seed.sql", encoding: .utf8)
        try await database.withConnection { connection in try await connection.executeScript(script) }

        say("seeding \(users) users × \(holdings) holdings over \(assets) assets (portfolio.seed, markets per user 0) …")
        started = clock.now
        let counts = try await database.query("""
            select portfolio.seed(\(users)::int, \(assets)::int, \(holdings)::int, \(holdings)::int, 0::int)::text
            """)[0].decode(String.self, at: 0)
        let seedSeconds = (clock.now - started).seconds
        started = clock.now
        let maintenance = try await PostgresConnection.connect(PostgresConfiguration(url: url, applicationName: "bench-portfolio"))
        try await maintenance.executeScript("vacuum analyze")
        await maintenance.close()
        let vacuumSeconds = (clock.now - started).seconds
        let seededSize = try await databaseSize()
        say("seeded in \(f(seedSeconds, 1)) s, vacuum analyze \(f(vacuumSeconds, 1)) s, database \(seededSize): \(counts)")
        emit("seed", "portfolio.seed", seedSeconds, "s", detail: counts)
        emit("seed", "vacuum analyze", vacuumSeconds, "s", detail: "database \(seededSize)")
        var data = [
            "## Data", "",
            "`portfolio.seed(\(users), \(assets), \(holdings), \(holdings), 0)` in **\(f(seedSeconds, 1)) s** (one statement), "
                + "`vacuum analyze` \(f(vacuumSeconds, 1)) s, database \(seededSize) after the seed (migrations \(f(migrateSeconds, 1)) s).", "",
            "| rows | count |", "| --- | ---: |",
        ]
        if let object = try JSONSerialization.jsonObject(with: Data(counts.utf8)) as? [String: Any] {
            for key in ["users", "assets", "holdings", "criteriaVersions", "userMarkets"] {
                if let value = object[key] as? Int { data.append("| \(key) | \(grouped(value)) |") }
            }
        }
        data.append("")
        sampleMemory("after seed")

        // 2. The provider stub, the config, the pack's functions and a worker, all in this process.
        let stub = try await ProviderStub.start()
        let http = HTTPClient()
        var config = try NightshiftConfig.load(
            // The project's config configures every pack of its binary: read their tables too.
            path: "supabase-like-config/config.toml", environment: [:],
            sections: PortfolioPack().configSections + DossierPack().configSections + CoveragePack().configSections)
        config.api.host = "127.0.0.1"
        config.api.port = try freeLoopbackPort()
        config.scheduler.enabled = false
        var portfolio = config.section(PortfolioSettings.self)
        portfolio.ratesURL = stub.baseURL
        portfolio.pricesURL = stub.baseURL
        // BENCH_USERS_PER_BATCH: another batch size than the config's users_per_batch.
        if let size = Int(ProcessInfo.processInfo.environment["BENCH_USERS_PER_BATCH"] ?? ""), size > 0 { portfolio.usersPerBatch = size }
        config.setSection(portfolio)
        var registry = try FunctionRegistry(PortfolioPack().functions(PackContext(config: config, http: http, logger: Self.logger)))
        _ = registry.apply(config)
        try await registry.sync(to: database)
        let worker = Worker(
            registry: registry, database: database,
            options: WorkerOptions(concurrency: workerConcurrency, pollInterval: .milliseconds(100), workerID: "bench-portfolio"),
            logger: Self.logger)
        let workerTask = Task { try await worker.run() }
        try await Task.sleep(for: .milliseconds(300))

        var overnight: [String] = []
        var reads: [String] = []
        do {
            overnight = try await overnightAndWarm(usersPerBatch: portfolio.usersPerBatch, stub: stub)
            workerTask.cancel()
            _ = await workerTask.result
            reads = try await dashboardReads(config: config, http: http)
        } catch {
            workerTask.cancel()
            _ = await workerTask.result
            await stub.stop()
            await http.shutdown()
            throw error
        }
        await stub.stop()
        await http.shutdown()
        let finalSize = try await databaseSize()
        data.append("Database size after the run: \(finalSize).")
        data.append("")

        report = overnight + reads + memoryTable() + comparison() + data + definitions()
        await database.close()
        let markdown = report.joined(separator: "\n") + "\n"
        say("\n" + markdown)
        if let path = ProcessInfo.processInfo.environment["BENCH_REPORT"] {
            try markdown.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }

    // MARK: - Overnight scoring and cache warming

    /// Figures kept for the comparison table.
    var perUserMs = Double.nan
    var overnightSeconds = Double.nan
    var warmPerUserMs = Double.nan
    var warmSeconds = Double.nan
    var cachedP50 = Double.nan
    var cachedP99 = Double.nan
    var missP50 = Double.nan
    var missP99 = Double.nan
    var usersScored = 0

    func overnightAndWarm(usersPerBatch: Int, stub: ProviderStub) async throws -> [String] {
        let clock = ContinuousClock()
        let cpuBefore = processCPU()
        let backendsBefore = try await backendCPU()
        let machineBefore = machineCPU()
        let loadBefore = loadavg()
        let expectedBatches = (users + usersPerBatch - 1) / max(1, usersPerBatch)
        say("triggering portfolio/overnight-scoring (load \(loadBefore)) …")
        let started = clock.now
        let runID = try await EngineClient(database: database).trigger("portfolio/overnight-scoring")

        // RSS every 2 s while the jobs run (the figure that must stay flat).
        let sampler = Task {
            var samples: [Double] = []
            while !Task.isCancelled {
                samples.append(Bench.status("VmRSS"))
                try? await Task.sleep(for: .seconds(2))
            }
            return samples
        }
        var status = "queued"
        var lastProgress = clock.now
        while status == "queued" || status == "running" {
            try await Task.sleep(for: .milliseconds(100))
            status = try await database.query("select status from nightshift.runs where id = \(runID)")[0].decode(String.self, at: 0)
            if clock.now - lastProgress > .seconds(15) {
                lastProgress = clock.now
                let done = try await database.query(
                    "select count(*)::int from nightshift.steps where run_id = \(runID) and name like 'score-batch-%'")[0].decode(Int.self, at: 0)
                say("  … \(f((clock.now - started).seconds, 0)) s: \(done) of \(expectedBatches) batches, VmRSS \(f(Self.status("VmRSS"), 1)) MiB")
            }
        }
        let scoringSeen = (clock.now - started).seconds
        let cpuScoring = processCPU()
        sampleMemory("after scoring")
        guard status == "completed" else {
            let error = try await database.query("select coalesce(error::text, '') from nightshift.runs where id = \(runID)")[0].decode(String.self, at: 0)
            throw BenchError("portfolio/overnight-scoring ended \(status): \(error)")
        }
        say("scoring run completed (seen after \(f(scoringSeen, 1)) s); waiting for portfolio/cache-warmer …")

        var warmerStatus = ""
        var warmerID: UUID?
        lastProgress = clock.now
        while warmerStatus != "completed" {
            try await Task.sleep(for: .milliseconds(100))
            let rows = try await database.query("""
                select id, status from nightshift.runs where function_id = 'portfolio/cache-warmer' order by created_at desc limit 1
                """)
            if let row = rows.first {
                let (id, state) = try row.decode(UUID.self, String.self)
                warmerID = id
                warmerStatus = state
                if state == "failed" || state == "cancelled" { throw BenchError("portfolio/cache-warmer ended \(state)") }
            }
            if clock.now - lastProgress > .seconds(15) {
                lastProgress = clock.now
                let pages = try await database.query("""
                    select count(*)::int from nightshift.steps where run_id = \(warmerID) and name like 'warm-page%'
                    """)[0].decode(Int.self, at: 0)
                say("  … warmer: \(pages) pages done, VmRSS \(f(Self.status("VmRSS"), 1)) MiB")
            }
            if (clock.now - started) > .seconds(4 * 3600) { throw BenchError("the cache warmer did not finish") }
        }
        let allSeen = (clock.now - started).seconds
        let cpuAll = processCPU()
        let backendsAfter = try await backendCPU()
        let machineAfter = machineCPU()
        sampler.cancel()
        let rssSamples = await sampler.value
        sampleMemory("after warming")
        guard let warmerID else { throw BenchError("no cache-warmer run") }

        // The scoring run, from the database.
        let run = try await database.query("""
            select extract(epoch from finished_at - started_at)::float8, extract(epoch from started_at - created_at)::float8
            from nightshift.runs where id = \(runID)
            """)[0]
        let (wall, queued) = try run.decode(Double.self, Double.self)
        let job = try await database.query("""
            select id, correlation_id, status, users_processed, users_failed, metrics::text
            from portfolio.overnight_job_runs order by started_at desc limit 1
            """)[0]
        let (jobRunID, correlationID, jobStatus, processed, failed, metricsText) =
            try job.decode(UUID.self, UUID.self, String.self, Int.self, Int.self, String.self)
        let metrics = (try? JSONSerialization.jsonObject(with: Data(metricsText.utf8)) as? [String: Any]) ?? [:]
        func metric(_ key: String) -> Double {
            if let value = metrics[key] as? Double { return value }
            if let value = metrics[key] as? Int { return Double(value) }
            return .nan
        }
        let ratesMs = metric("fetch_rates_ms"), pricesMs = metric("fetch_prices_ms"), priceRequests = metric("price_requests")
        let assetsScored = metric("assets_scored"), totalDurationMs = metric("total_duration_ms")
        usersScored = processed - failed

        // Per batch: consecutive batch transactions' starts (steps.completed_at = the step
        // transaction's now()), the last one ending at the finalize step.
        let stepRows = try await database.query("""
            select name, extract(epoch from completed_at)::float8 from nightshift.steps where run_id = \(runID) order by completed_at, name
            """)
        var steps: [String: Double] = [:]
        for row in stepRows {
            let (step, at) = try row.decode(String.self, Double.self)
            steps[step] = at
        }
        let batchStarts = steps.filter { $0.key.hasPrefix("score-batch-") }
            .compactMap { entry in Int(entry.key.dropFirst("score-batch-".count)).map { ($0, entry.value) } }
            .sorted { $0.0 < $1.0 }.map(\.1)
        var batchCycles: [Double] = []
        for (index, start) in batchStarts.enumerated() {
            let end = index + 1 < batchStarts.count ? batchStarts[index + 1] : (steps["finalize"] ?? start)
            batchCycles.append((end - start) * 1000)
        }
        batchCycles.sort()
        // SQL inside _score_batch per batch: CALC_COMPLETED.batchDurationMs (the batch's; durationMs
        // is each user's share of it), one value per batch statement.
        let batchSQL = try await database.query("""
            select distinct on (e.created_at) (e.payload ->> 'batchDurationMs')::float8
            from portfolio.calculation_events e
            where e.correlation_id = \(correlationID) and e.event_type = 'CALC_COMPLETED'
            order by e.created_at
            """).map { try $0.decode(Double.self, at: 0) }.sorted()
        let setupMs = ((batchStarts.first ?? 0) - (try await runStart(runID))) * 1000
        let counts = try await database.query("""
            select (select count(*) from portfolio.calculation_events where correlation_id = \(correlationID))::int,
                   (select count(*) from portfolio.recommendations where job_run_id = \(jobRunID))::int,
                   (select count(distinct user_id) from portfolio.recommendations where job_run_id = \(jobRunID))::int,
                   (select count(*) from portfolio.score_history where correlation_id = \(correlationID))::int
            """)[0]
        let (events, recommendations, usersWithRecs, history) = try counts.decode(Int.self, Int.self, Int.self, Int.self)

        // The warmer run.
        let warmerRow = try await database.query("""
            select extract(epoch from w.finished_at - w.started_at)::float8,
                   extract(epoch from w.started_at - s.finished_at)::float8,
                   coalesce((w.output ->> 'usersWarmed')::int, 0), coalesce((w.output ->> 'keysWritten')::int, 0)
            from nightshift.runs w, nightshift.runs s where w.id = \(warmerID) and s.id = \(runID)
            """)[0]
        let (warmWall, eventGap, usersWarmed, keysWritten) = try warmerRow.decode(Double.self, Double.self, Int.self, Int.self)
        let warmStart = try await runStart(warmerID)
        let pageRows = try await database.query("""
            select extract(epoch from completed_at)::float8 from nightshift.steps
            where run_id = \(warmerID) and name like 'warm-page%' order by completed_at
            """).map { try $0.decode(Double.self, at: 0) }
        var pages: [Double] = []
        var previous = warmStart
        for at in pageRows {
            pages.append((at - previous) * 1000)
            previous = at
        }
        pages.sort()
        let cacheRow = try await database.query("""
            select count(*)::int, coalesce(sum(pg_column_size(value)), 0)::int8, pg_size_pretty(pg_total_relation_size('cache.entries'))
            from cache.entries
            """)[0]
        let (cacheKeys, cacheBytes, cacheSize) = try cacheRow.decode(Int.self, Int.self, String.self)

        let cpuScoringSeconds = cpuScoring - cpuBefore
        let cpuAllSeconds = cpuAll - cpuBefore
        let backends = backendsAfter.subtracting(backendsBefore)
        let machineBusy = machineAfter.busy - machineBefore.busy
        let machineTotal = machineAfter.total - machineBefore.total
        let n = Double(max(1, processed))
        perUserMs = wall * 1000 / n
        overnightSeconds = wall
        warmSeconds = warmWall
        warmPerUserMs = warmWall * 1000 / Double(max(1, usersWarmed))
        let loadAfter = loadavg()
        let rssMin = rssSamples.min() ?? .nan, rssMax = rssSamples.max() ?? .nan

        say("overnight: \(jobStatus) in \(f(wall, 1)) s (DB clock); \(processed) users (\(failed) failed) → \(f(perUserMs, 2)) ms per user")
        say("  per \(usersPerBatch)-user batch p50 \(f(pct(batchCycles, 50), 1)) ms, p99 \(f(pct(batchCycles, 99), 1)) ms (n=\(batchCycles.count)); SQL in _score_batch p50 \(f(pct(batchSQL, 50), 1)) ms")
        say("  rates \(f(ratesMs, 0)) ms, prices \(f(pricesMs, 0)) ms (\(f(priceRequests, 0)) requests); assets scored \(f(assetsScored, 0)); events \(events); recommendations \(recommendations)")
        say("  warmer: \(f(warmWall, 1)) s for \(usersWarmed) users → \(f(warmPerUserMs, 3)) ms per user; page p50 \(f(pct(pages, 50), 0)) ms")
        say("  orchestrator CPU \(f(cpuAllSeconds, 1)) s; postgres backends CPU \(f(backends, 1)) s; VmRSS \(f(rssMin, 1))..\(f(rssMax, 1)) MiB")

        let settingsNote = "users_per_batch \(usersPerBatch)"
        emit("overnight", "run wall time", wall, "s", detail: "nightshift.runs started_at -> finished_at (DB clock); \(processed) users, \(failed) failed; status \(jobStatus); queued \(f(queued * 1000, 1)) ms; total_duration_ms \(f(totalDurationMs, 0)); \(settingsNote)")
        emit("overnight", "per user", perUserMs, "ms", detail: "run wall / users processed")
        emit("overnight", "per batch p50", pct(batchCycles, 50), "ms", detail: "consecutive score-batch step transaction starts, n=\(batchCycles.count)")
        emit("overnight", "per batch p99", pct(batchCycles, 99), "ms", detail: "as p50")
        emit("overnight", "per batch max", pct(batchCycles, 100), "ms", detail: "as p50")
        emit("overnight", "_score_batch SQL p50", pct(batchSQL, 50), "ms", detail: "CALC_COMPLETED.batchDurationMs, one per batch statement, n=\(batchSQL.count)")
        emit("overnight", "_score_batch SQL p99", pct(batchSQL, 99), "ms", detail: "as p50")
        emit("overnight", "setup to first batch", setupMs, "ms", detail: "run start -> first score-batch transaction: setup, fetch-rates, snapshot-users, fetch-prices")
        emit("overnight", "rates fetch", ratesMs, "ms", detail: "overnight_job_runs.metrics.fetch_rates_ms")
        emit("overnight", "prices fetch", pricesMs, "ms", detail: "overnight_job_runs.metrics.fetch_prices_ms, \(f(priceRequests, 0)) requests")
        emit("overnight", "assets scored", assetsScored, "assets", detail: "overnight_job_runs.metrics.assets_scored; score_history rows \(history)")
        emit("overnight", "events written", Double(events), "events", detail: "calculation_events of the run's correlation id")
        emit("overnight", "recommendations written", Double(recommendations), "rows", detail: "recommendations of the job run, \(usersWithRecs) users")
        emit("overnight", "orchestrator CPU", cpuScoringSeconds, "s", detail: "getrusage user+sys during the scoring run")
        emit("warming", "warmer wall time", warmWall, "s", detail: "portfolio/cache-warmer run started_at -> finished_at; \(usersWarmed) users, \(keysWritten) keys; started \(f(eventGap * 1000, 0)) ms after scoring finished")
        emit("warming", "per user", warmPerUserMs, "ms", detail: "warmer wall / users warmed")
        emit("warming", "per page p50", pct(pages, 50), "ms", detail: "warm-page steps, 1000 users each, n=\(pages.count)")
        emit("warming", "per page p99", pct(pages, 99), "ms", detail: "as p50")
        emit("both", "orchestrator CPU", cpuAllSeconds, "s", detail: "getrusage user+sys, trigger -> warmer seen completed (\(f(allSeen, 1)) s wall)")
        emit("both", "postgres backends CPU", backends, "s", detail: "/proc utime+stime of this process's pool connections")

        func ms(_ v: Double) -> String { f(v, 1) + " ms" }
        return [
            "## Overnight run (`portfolio/overnight-scoring`) and cache warming (`portfolio/cache-warmer`)", "",
            "One run each (single measurements; the machine is shared and noisy). \(settingsNote), worker concurrency \(workerConcurrency).", "",
            "| figure | value |", "| --- | ---: |",
            "| users processed / failed (status) | \(grouped(processed)) / \(failed) (\(jobStatus)) |",
            "| **overnight run wall time** (claim → completion, DB clock) | **\(f(wall, 1)) s** (\(f(wall / 60, 2)) min) |",
            "| **per user** (wall / users) | **\(f(perUserMs, 2)) ms** |",
            "| trigger → completion seen by the poller | \(f(scoringSeen, 1)) s |",
            "| setup + fetch-rates + snapshot-users + fetch-prices (run start → first batch) | \(ms(setupMs)) |",
            "| rates fetch / price fetch (\(f(priceRequests, 0)) requests) | \(f(ratesMs, 0)) ms / \(f(pricesMs, 0)) ms |",
            "| **per \(usersPerBatch)-user batch, p50 / p99** (step rows) | **\(ms(pct(batchCycles, 50))) / \(ms(pct(batchCycles, 99)))** |",
            "| per \(usersPerBatch)-user batch, max (n = \(batchCycles.count)) | \(ms(pct(batchCycles, 100))) |",
            "| SQL statement of the batch (`_score_batch`, CALC_COMPLETED.batchDurationMs), p50 / p99 | \(ms(pct(batchSQL, 50))) / \(ms(pct(batchSQL, 99))) |",
            "| assets scored (asset_scores upserts; score_history rows) | \(grouped(Int(assetsScored.isFinite ? assetsScored : 0))) (\(grouped(history))) |",
            "| calculation events written | \(grouped(events)) |",
            "| recommendations written (users with one) | \(grouped(recommendations)) (\(grouped(usersWithRecs))) |",
            "| scoring finished → warmer run started (event) | \(f(eventGap * 1000, 0)) ms |",
            "| **cache warming wall time** | **\(f(warmWall, 1)) s** |",
            "| **cache warming per user** | **\(f(warmPerUserMs, 3)) ms** |",
            "| warm page (1,000 users, 2,000 keys), p50 / p99 (n = \(pages.count)) | \(ms(pct(pages, 50))) / \(ms(pct(pages, 99))) |",
            "| cache keys / value bytes / cache.entries size | \(grouped(cacheKeys)) / \(f(Double(cacheBytes) / 1_048_576, 0)) MiB / \(cacheSize) |",
            "| orchestrator CPU (user+sys), scoring / scoring + warming | \(f(cpuScoringSeconds, 1)) s / \(f(cpuAllSeconds, 1)) s (\(f(cpuAllSeconds / max(0.001, allSeen) * 100, 1)) % of \(f(allSeen, 1)) s wall) |",
            "| postgres CPU, this process's connections | \(f(backends, 1)) s (\(f(backends / max(0.001, allSeen) * 100, 0)) % of wall, 2 cores = 200 %) |",
            "| machine busy CPU / total | \(f(machineBusy, 1)) of \(f(machineTotal, 1)) core-s |",
            "| orchestrator VmRSS every 2 s during both jobs, min / max (n = \(rssSamples.count)) | \(f(rssMin, 1)) / \(f(rssMax, 1)) MiB |",
            "| provider stub requests (rates / prices) | \(stub.controls.requests(.rates)) / \(stub.controls.requests(.prices)) |",
            "| loadavg before → after | \(loadBefore) → \(loadAfter) |",
            "",
        ]
    }

    func runStart(_ id: UUID) async throws -> Double {
        try await database.query("select extract(epoch from started_at)::float8 from nightshift.runs where id = \(id)")[0].decode(Double.self, at: 0)
    }

    // MARK: - Dashboard reads

    struct ReadResult {
        var latencies: [Double]
        var seconds: Double
        var errors: Int
        var fromCache: Int
        var notFromCache: Int
    }

    func dashboardReads(config: NightshiftConfig, http: HTTPClient) async throws -> [String] {
        let serverDatabase = PostgresPool(
            configuration: PostgresConfiguration(url: url, applicationName: "bench-portfolio-server"), maxConnections: serverPool,
            acquireTimeout: .seconds(30))
        // The API only: no edge functions (the config's [functions.*] entries go with them).
        var serverConfig = config
        serverConfig.functions = [:]
        // The pack's routes (GET /api/dashboard) beside the engine's, as `nightshift serve` mounts them.
        let app = try await NightshiftServer.makeApplication(
            config: serverConfig, database: serverDatabase, functions: [], routes: PortfolioPack().routes, logger: Self.logger)
        let serverTask = Task { try await app.runService() }
        defer { serverTask.cancel() }
        let base = "http://127.0.0.1:\(config.api.port)"
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if (try? await http.execute(HTTPClient.Request(url: base + "/health"))) != nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }

        // Tokens of up to 2,000 random users that have a cached dashboard, signed up front.
        let ids = try await database.query("""
            select user_id from cache.entries where key like 'recs:%' order by random() limit 2000
            """).map { try $0.decode(UUID.self, at: 0) }
        guard !ids.isEmpty else { throw BenchError("no cached dashboards to read") }
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: config.auth.jwtSecret), digestAlgorithm: .sha256)
        var tokens: [String] = []
        for id in ids {
            tokens.append(try await keys.sign(AuthClaims(
                role: "authenticated", sub: id.uuidString.lowercased(), exp: ExpirationClaim(value: Date().addingTimeInterval(3600)))))
        }
        let sample = try await http.execute(request(base, tokens[0]))
        say("dashboard sample: status \(sample.status), \(sample.body.count) bytes, fromCache \(Self.fromCache(sample.text).map(String.init(describing:)) ?? "?")")

        // Warm-up (connections, server pool, plans), not counted.
        _ = try await load(base: base, tokens: tokens, http: http, seconds: 2, requests: 500)

        say("dashboard reads from the cache: \(clients) clients, \(f(readSeconds, 0)) s or \(readRequests) requests …")
        let cpuBefore = processCPU()
        sampleMemory("before reads")
        let cached = try await load(base: base, tokens: tokens, http: http, seconds: readSeconds, requests: readRequests)
        let cachedCPU = processCPU() - cpuBefore
        sampleMemory("after cached reads")

        let invalidated = try await database.query("select cache.invalidate_all()")[0].decode(Int.self, at: 0)
        say("cache emptied (\(invalidated) keys); reads without it: \(f(missSeconds, 0)) s or \(missRequests) requests …")
        let missCPUBefore = processCPU()
        let missed = try await load(base: base, tokens: tokens, http: http, seconds: missSeconds, requests: missRequests)
        let missCPU = processCPU() - missCPUBefore
        serverTask.cancel()
        _ = await serverTask.result
        await serverDatabase.close()

        cachedP50 = pct(cached.latencies, 50)
        cachedP99 = pct(cached.latencies, 99)
        missP50 = pct(missed.latencies, 50)
        missP99 = pct(missed.latencies, 99)
        var lines = [
            "## Dashboard reads (GET /api/dashboard, real server in-process)", "",
            "\(clients) concurrent clients (tasks sharing one libcurl multi client, keep-alive), each request with the token of one of "
                + "\(ids.count) random scored users; server pool \(serverPool) connections (the config's pool_size). "
                + "Latency is the client's (request → whole body). Single measurement of each.", "",
            "| figure | from the cache | cache emptied (computed: `dashboard_document`) |", "| --- | ---: | ---: |",
        ]
        let columns: [(String, (ReadResult) -> String)] = [("requests (errors)", { (r: ReadResult) in "\(self.grouped(r.latencies.count)) (\(r.errors))" }),
                              ("duration", { (r: ReadResult) in "\(self.f(r.seconds, 1)) s" }),
                              ("**requests/s**", { (r: ReadResult) in "**\(self.f(Double(r.latencies.count) / r.seconds, 0))**" }),
                              ("**p50**", { (r: ReadResult) in "**\(self.f(self.pct(r.latencies, 50), 2)) ms**" }),
                              ("p95", { (r: ReadResult) in "\(self.f(self.pct(r.latencies, 95), 2)) ms" }),
                              ("**p99**", { (r: ReadResult) in "**\(self.f(self.pct(r.latencies, 99), 2)) ms**" }),
                              ("max", { (r: ReadResult) in "\(self.f(self.pct(r.latencies, 100), 2)) ms" }),
                              ("fromCache true / false", { (r: ReadResult) in "\(self.grouped(r.fromCache)) / \(self.grouped(r.notFromCache))" })]
        for (label, pick) in columns {
            lines.append("| \(label) | \(pick(cached)) | \(pick(missed)) |")
        }
        lines.append("| process CPU (server + clients + worker idle) | \(f(cachedCPU, 1)) s (\(f(cachedCPU / cached.seconds * 100, 0)) %) | \(f(missCPU, 1)) s (\(f(missCPU / missed.seconds * 100, 0)) %) |")
        lines.append("")
        for (workload, result) in [("reads cached", cached), ("reads computed", missed)] {
            let detail = "\(clients) clients, \(result.latencies.count) requests in \(f(result.seconds, 2)) s, errors \(result.errors), fromCache true \(result.fromCache) / false \(result.notFromCache)"
            emit(workload, "p50", pct(result.latencies, 50), "ms", detail: detail)
            emit(workload, "p95", pct(result.latencies, 95), "ms", detail: detail)
            emit(workload, "p99", pct(result.latencies, 99), "ms", detail: detail)
            emit(workload, "max", pct(result.latencies, 100), "ms", detail: detail)
            emit(workload, "throughput", Double(result.latencies.count) / result.seconds, "req/s", detail: detail)
        }
        say(lines.joined(separator: "\n"))
        return lines
    }

    func request(_ base: String, _ token: String) -> HTTPClient.Request {
        var request = HTTPClient.Request(url: base + "/api/dashboard", headers: ["Authorization": "Bearer \(token)"])
        request.throwOnErrorStatus = false
        return request
    }

    /// `clients` tasks, each sending one request after the other until `seconds` pass or
    /// `requests` have been sent in all.
    func load(base: String, tokens: [String], http: HTTPClient, seconds: Double, requests: Int) async throws -> ReadResult {
        let counter = Counter()
        let clock = ContinuousClock()
        let started = clock.now
        let end = started + .milliseconds(Int64(seconds * 1000))
        let results = await withTaskGroup(of: ReadResult.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var result = ReadResult(latencies: [], seconds: 0, errors: 0, fromCache: 0, notFromCache: 0)
                    result.latencies.reserveCapacity(requests / max(1, self.clients) + 16)
                    while clock.now < end, counter.next() <= requests {
                        let token = tokens[Int.random(in: 0..<tokens.count)]
                        let t0 = clock.now
                        do {
                            let response = try await http.execute(self.request(base, token))
                            result.latencies.append((clock.now - t0).seconds * 1000)
                            if response.status != 200 { result.errors += 1 }
                            switch Self.fromCache(response.text) {
                            case true?: result.fromCache += 1
                            case false?: result.notFromCache += 1
                            case nil: break
                            }
                        } catch {
                            result.errors += 1
                        }
                    }
                    return result
                }
            }
            var all = ReadResult(latencies: [], seconds: 0, errors: 0, fromCache: 0, notFromCache: 0)
            for await result in group {
                all.latencies += result.latencies
                all.errors += result.errors
                all.fromCache += result.fromCache
                all.notFromCache += result.notFromCache
            }
            return all
        }
        var all = results
        all.seconds = (clock.now - started).seconds
        all.latencies.sort()
        return all
    }

    static func fromCache(_ text: String) -> Bool? {
        // The document is jsonb text: `"fromCache": true` (with the space) at its end.
        let tail = text.suffix(64)
        if tail.contains("\"fromCache\": true") || tail.contains("\"fromCache\":true") { return true }
        if tail.contains("\"fromCache\": false") || tail.contains("\"fromCache\":false") { return false }
        if text.contains("\"fromCache\": true") { return true }
        if text.contains("\"fromCache\": false") { return false }
        return nil
    }

    // MARK: - Report pieces

    func memoryTable() -> [String] {
        var lines = ["## Orchestrator memory (this process: worker, provider stub, later the server and the clients)", "",
                     "| moment | VmRSS | VmHWM (peak so far) | process CPU so far |", "| --- | ---: | ---: | ---: |"]
        for (moment, rss, hwm, cpu) in memory {
            lines.append("| \(moment) | \(f(rss, 1)) MiB | \(f(hwm, 1)) MiB | \(f(cpu, 1)) s |")
            emit("memory", "VmHWM \(moment)", hwm, "MiB", detail: "/proc/self/status; VmRSS \(f(rss, 1)) MiB")
        }
        lines.append("")
        return lines
    }

    func comparison() -> [String] {
        let perUserTarget = 10_000.0       // < 10 s per user
        let thousandTarget = 4 * 3600.0    // 1,000 users within 4 hours
        let warmTarget = 300.0             // 1,000 users within 5 minutes
        let readTarget = 100.0             // a dashboard read under 100 ms
        let ours1000 = perUserMs          // ms per user × 1000 users = seconds per 1,000 users
        let warm1000 = warmPerUserMs
        let rows: [(String, String, String, Double)] = [
            ("overnight run, per user", "< 10 s", "\(f(perUserMs, 2)) ms", perUserTarget / perUserMs),
            ("overnight run, 1,000 users", "4 h", "\(f(ours1000, 2)) s (extrapolated: per user × 1,000; \(grouped(users)) users took \(f(overnightSeconds / 60, 1)) min)", thousandTarget / ours1000),
            ("cache warming, 1,000 users", "5 min", "\(f(warm1000, 2)) s (per user × 1,000; \(grouped(users)) users took \(f(warmSeconds, 1)) s)", warmTarget / warm1000),
            ("dashboard read from the cache, p50", "< 100 ms", "\(f(cachedP50, 2)) ms", readTarget / cachedP50),
            ("dashboard read from the cache, p99", "< 100 ms", "\(f(cachedP99, 2)) ms", readTarget / cachedP99),
            ("dashboard read computed (cache emptied), p99", "< 100 ms", "\(f(missP99, 2)) ms", readTarget / missP99),
        ]
        var lines = ["## Against the seed system's targets", "",
                     "| figure | seed target | this run | target / ours |", "| --- | ---: | ---: | ---: |"]
        for (figure, target, ours, ratio) in rows {
            lines.append("| \(figure) | \(target) | \(ours) | **\(ratioText(ratio))** |")
            emit("targets", figure, ratio, "x", detail: "seed target \(target); ours \(ours)")
        }
        lines.append("")
        return lines
    }

    func ratioText(_ ratio: Double) -> String {
        guard ratio.isFinite else { return "n/a" }
        return ratio >= 100 ? "\(grouped(Int(ratio.rounded())))×" : "\(f(ratio, 1))×"
    }

    func definitions() -> [String] {
        [
            "## How the figures are taken", "",
            "- Data: `portfolio.seed(users, assets, holdings, holdings, 0)`: markets per user 0, so each user's scoring universe is their \(holdings) holdings (with 1 market per user it would be about 833 + \(holdings) assets per user, ~40× the scoring work).",
            "- The jobs are the pack's real functions (`PortfolioPack.functions`) in an in-process `Worker` (concurrency \(workerConcurrency), pool 8), the providers the deterministic `PortfolioProviderStub` on loopback. One trigger of `portfolio/overnight-scoring` with an empty payload (every active user with holdings); its `portfolio/scoring.completed` event starts `portfolio/cache-warmer`.",
            "- Run wall times: `nightshift.runs.started_at → finished_at` (DB clock). Per user = wall / users processed. Per batch: each batch is one `step.transaction` whose `nightshift.steps.completed_at` is the start of its transaction, so consecutive batches' rows give one batch's whole cycle (SQL + commit + orchestrator); the last ends at the `finalize` step. The batch statement alone: `CALC_COMPLETED.durationMs` (one per batch). Warm pages: consecutive `warm-page` step rows.",
            "- Memory: VmRSS and VmHWM from /proc/self/status at each moment, plus VmRSS every 2 s while the jobs run. CPU: getrusage of this process; postgres CPU from /proc of this process's connections.",
            "- Reads: the real `NightshiftServer.makeApplication` (no edge functions) on loopback; latency measured by the client, in the same process, on the same 2 cores as the server and PostgreSQL: a conservative figure.",
        ]
    }

    // MARK: - Helpers

    func sampleMemory(_ moment: String) {
        let entry = (moment, Self.status("VmRSS"), Self.status("VmHWM"), processCPU())
        memory.append(entry)
        say("memory \(moment): VmRSS \(f(entry.1, 1)) MiB, VmHWM \(f(entry.2, 1)) MiB, CPU \(f(entry.3, 1)) s")
    }

    /// A `kB` field of /proc/self/status, in MiB.
    static func status(_ field: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kb = Double(parts[1]) { return kb / 1024 }
        }
        return .nan
    }

    func databaseSize() async throws -> String {
        try await database.query("select pg_size_pretty(pg_database_size(current_database()))")[0].decode(String.self, at: 0)
    }

}

/// Requests handed out across the client tasks.
final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int {
        value.withLock { value in
            value += 1
            return value
        }
    }
}



/// A port nothing listens on right now (the kernel's pick for an ephemeral bind).
func freeLoopbackPort() throws -> Int {
    let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socketFD) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, length) == 0 && getsockname(socketFD, $0, &length) == 0 }
    }
    guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
    return Int(UInt16(bigEndian: address.sin_port))
}
