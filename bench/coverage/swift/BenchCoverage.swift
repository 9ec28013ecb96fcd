import CoveragePack
import Engine
import Foundation
import Logging
import Migrations
import NightshiftSQL
import BenchSupport
import Postgres

/// bench-coverage <server-url>
/// The coverage pack's nightly job at benchmark size, on a throwaway database of the server:
/// seed N institutions × M concepts, then run the real `coverage/nightly-recompute` twice in
/// an in-process worker (first run = baselines; the second after shift_coverage on ~100
/// institutions, so gap events and alert runs happen), and split each run's wall time into
/// SQL inside `coverage.process_institution` and the rest (the orchestrator). Finally times
/// process_institution alone over every institution (rolled back) for its distribution.
///
/// Environment: BENCH_INSTITUTIONS (1000), BENCH_CONCEPTS (5000), BENCH_SHIFT (100),
/// BENCH_SEED (0.42), BENCH_DB (bench_coverage), BENCH_KEEP_DB=1 keeps the database,
/// BENCH_RESULTS (JSON lines appended), BENCH_REPORT (markdown written).
@main
struct BenchCoverage {
    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 2 else {
            FileHandle.standardError.write(Data("usage: bench-coverage <server-url, e.g. postgresql://postgres@127.0.0.1:54329>\n".utf8))
            exit(2)
        }
        let environment = ProcessInfo.processInfo.environment
        let bench = Bench(
            server: arguments[1],
            name: environment["BENCH_DB"] ?? "bench_coverage",
            institutions: Int(environment["BENCH_INSTITUTIONS"] ?? "") ?? 1000,
            concepts: Int(environment["BENCH_CONCEPTS"] ?? "") ?? 5000,
            shift: Int(environment["BENCH_SHIFT"] ?? "") ?? 100,
            seed: Double(environment["BENCH_SEED"] ?? "") ?? 0.42)
        do {
            try await bench.run()
        } catch {
            FileHandle.standardError.write(Data("bench-coverage failed: \(error)\n".utf8))
            await bench.dropDatabase(keep: environment["BENCH_KEEP_DB"] == "1")
            exit(1)
        }
        await bench.dropDatabase(keep: environment["BENCH_KEEP_DB"] == "1")
    }
}

final class Bench: BenchRun {
    let benchName = "coverage"
    let server: String
    let name: String
    let institutions: Int
    let concepts: Int
    let shift: Int
    let seed: Double
    var url: String { server + "/" + name }
    var database: PostgresPool!
    var settings: String {
        "\(institutions) institutions x \(concepts) concepts, seed \(seed); 1 Swift process (release), in-process worker, pool 8"
    }
    var report: [String] = []
    /// Markdown rows of the per-run table: figure, run 1, run 2.
    var runFigures: [(String, [String])] = []

    static let logger: Logger = {
        var logger = Logger(label: "bench-coverage")
        logger.logLevel = .warning
        return logger
    }()

    init(server: String, name: String, institutions: Int, concepts: Int, shift: Int, seed: Double) {
        self.server = server
        self.name = name
        self.institutions = institutions
        self.concepts = concepts
        self.shift = shift
        self.seed = seed
    }

    func run() async throws {
        let clock = ContinuousClock()

        // 1. Throwaway database, migrations, per-function timing on (for the SQL share).
        var started = clock.now
        let admin = try await PostgresConnection.connect(PostgresConfiguration(url: server + "/postgres", applicationName: "bench-coverage"))
        try await admin.executeScript("drop database if exists \(name) with (force)")
        try await admin.executeScript("create database \(name) template template0")
        // pg_stat_user_functions then sums the time spent inside each function, per database.
        try await admin.executeScript("alter database \(name) set track_functions = 'all'")
        await admin.close()
        _ = try await Migrator(sets: [try NightshiftSQL.engineMigrations(), try NightshiftSQL.migrations("coverage")], logger: Self.logger).run(databaseURL: url)
        let migrateSeconds = (clock.now - started).seconds
        say("database \(name): created and migrated in \(f(migrateSeconds, 1)) s")

        database = PostgresPool(
            configuration: PostgresConfiguration(url: url, applicationName: "bench-coverage"), maxConnections: 8, acquireTimeout: .seconds(60))

        // 2. Seed, then vacuum analyze.
        say("seeding \(institutions) institutions × \(concepts) concepts (coverage.seed, seed \(seed)) …")
        started = clock.now
        let counts = try await database.query("select coverage.seed(\(institutions)::int, \(concepts)::int, \(seed)::float8)::text")[0].decode(String.self, at: 0)
        let seedSeconds = (clock.now - started).seconds
        started = clock.now
        let maintenance = try await PostgresConnection.connect(PostgresConfiguration(url: url, applicationName: "bench-coverage"))
        try await maintenance.executeScript("vacuum analyze")
        await maintenance.close()
        let vacuumSeconds = (clock.now - started).seconds
        let size = try await database.query("select pg_size_pretty(pg_database_size(current_database()))")[0].decode(String.self, at: 0)
        let active = try await database.query("select count(*)::int from coverage.active_institutions()")[0].decode(Int.self, at: 0)
        say("seeded in \(f(seedSeconds, 1)) s, vacuum analyze \(f(vacuumSeconds, 1)) s, database \(size): \(counts)")
        emit("seed", "coverage.seed", seedSeconds, "s", detail: counts)
        emit("seed", "vacuum analyze", vacuumSeconds, "s", detail: "database \(size)")
        report += [
            "## Data", "",
            "`coverage.seed(\(institutions), \(concepts), \(seed))` in **\(f(seedSeconds, 1)) s** (one statement, single measurement), "
                + "`vacuum analyze` \(f(vacuumSeconds, 1)) s, database \(size) (migrations \(f(migrateSeconds, 1)) s).", "",
            "| rows | count |", "| --- | ---: |",
        ]
        if let object = try JSONSerialization.jsonObject(with: Data(counts.utf8)) as? [String: Any] {
            for key in ["institutions", "active_institutions", "institution_admins", "concepts", "courses", "sessions",
                        "course_teaches", "session_teaches", "assessment_items", "item_assesses"] {
                if let value = object[key] as? Int { report.append("| \(key) | \(grouped(value)) |") }
            }
        }
        report.append("")

        // 3. The real job in an in-process worker, twice.
        let registry = try FunctionRegistry(CoveragePack.jobs)
        try await registry.sync(to: database)
        let worker = Worker(registry: registry, database: database, options: WorkerOptions(workerID: "bench-coverage"), logger: Self.logger)
        let workerTask = Task { try await worker.run() }
        try await Task.sleep(for: .milliseconds(500))

        var directNote = ""
        var shiftNote = ""
        do {
            try await nightlyRun(1, active: active, shifted: nil)
            started = clock.now
            let shifted = try await database.query("""
                select count(*)::int from (
                    select coverage.shift_coverage(s.id) from (
                        select i.id, row_number() over (order by i.id) as n from coverage.active_institutions() i) s
                    where (s.n - 1) % greatest(1, \(active) / \(max(1, shift))) = 0
                    limit \(shift)) x
                """)[0].decode(Int.self, at: 0)
            let shiftSeconds = (clock.now - started).seconds
            say("coverage.shift_coverage on \(shifted) institutions in \(f(shiftSeconds, 1)) s")
            shiftNote = "Between the runs, `coverage.shift_coverage` on \(shifted) institutions (every \(max(1, active / max(1, shift)))th by id; "
                + "one cell's gaps resolved, up to 3 new gaps opened in another) took \(f(shiftSeconds, 1)) s."
            try await nightlyRun(2, active: active, shifted: shifted)
            workerTask.cancel()
            _ = await workerTask.result
            directNote = try await directPass(active: active)
        } catch {
            workerTask.cancel()
            _ = await workerTask.result
            throw error
        }

        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let peak = Double(usage.ru_maxrss) / 1024
        emit("process", "peak RSS", peak, "MiB", detail: "bench-coverage process (worker, pool, seed call), getrusage")

        // 4. Report.
        var table = ["## The nightly run (`coverage/nightly-recompute`, full: no institution_id)", "",
                     "Each figure is a single measurement of one run (no repeats); the machine is shared and noisy.", "",
                     "| figure | run 1: baselines | run 2: after shift_coverage |", "| --- | ---: | ---: |"]
        for (figure, values) in runFigures {
            table.append("| \(figure) | \(values.joined(separator: " | ")) |")
        }
        table.append("")
        table.append("Orchestrator peak RSS (getrusage, whole process incl. seeding): **\(f(peak, 1)) MiB**. " + shiftNote)
        table.append("")
        report = table + report
        report += [directNote, ""]
        report += definitions()
        await database.close()
        let markdown = report.joined(separator: "\n") + "\n"
        say("\n" + markdown)
        if let path = ProcessInfo.processInfo.environment["BENCH_REPORT"] {
            try markdown.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }

    // MARK: - One run

    struct FunctionStat { var calls: Int; var total: Double; var selfTime: Double }

    func functionStats() async throws -> [String: FunctionStat] {
        var stats: [String: FunctionStat] = [:]
        for row in try await database.query("""
            select schemaname || '.' || funcname, sum(calls)::int8, sum(total_time)::float8, sum(self_time)::float8
            from pg_stat_user_functions group by 1
            """) {
            let (name, calls, total, selfTime) = try row.decode(String.self, Int.self, Double.self, Double.self)
            stats[name] = FunctionStat(calls: calls, total: total, selfTime: selfTime)
        }
        return stats
    }

    /// Waits until the backends have flushed their function statistics: until process_institution
    /// shows `calls` calls, then 11 s more, since a backend that flushed less than 1 s before
    /// going idle flushes again only after 10 s idle (PGSTAT_IDLE_INTERVAL).
    func waitForStats(processCalls: Int) async throws -> [String: FunctionStat] {
        let deadline = Date().addingTimeInterval(30)
        while true {
            let stats = try await functionStats()
            if (stats["coverage.process_institution"]?.calls ?? 0) >= processCalls || Date() > deadline {
                try await Task.sleep(for: .seconds(11))
                return try await functionStats()
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    func nightlyRun(_ number: Int, active: Int, shifted: Int?) async throws {
        let statsBefore = try await waitForStats(processCalls: active * (number - 1))
        let cpuBefore = processCPU()
        let backendsBefore = try await backendCPU()
        let machineBefore = machineCPU()
        let loadBefore = loadavg()
        let clock = ContinuousClock()
        say("run \(number): triggering coverage/nightly-recompute (load \(loadBefore)) …")
        let started = clock.now
        let runID = try await EngineClient(database: database).trigger("coverage/nightly-recompute")
        var status = "queued"
        while status == "queued" || status == "running" {
            try await Task.sleep(for: .milliseconds(50))
            status = try await database.query("select status from nightshift.runs where id = \(runID)")[0].decode(String.self, at: 0)
        }
        let clientSeconds = (clock.now - started).seconds
        let cpuAfter = processCPU()
        let machineAfter = machineCPU()
        let backendsAfter = try await backendCPU()
        let loadAfter = loadavg()
        guard status == "completed" else {
            let error = try await database.query("select coalesce(error::text, '') from nightshift.runs where id = \(runID)")[0].decode(String.self, at: 0)
            throw BenchError("run \(number) ended \(status): \(error)")
        }

        // The alert runs the events fanned out to (run 2), to their end.
        let alertDeadline = Date().addingTimeInterval(300)
        while try await database.query("""
            select count(*)::int from nightshift.runs where function_id = 'coverage/gap-alerts' and status in ('queued', 'running')
            """)[0].decode(Int.self, at: 0) > 0, Date() < alertDeadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let allDoneSeconds = (clock.now - started).seconds

        let timing = try await database.query("""
            select extract(epoch from finished_at - started_at)::float8, extract(epoch from started_at - created_at)::float8
            from nightshift.runs where id = \(runID)
            """)[0]
        let (wall, queued) = try timing.decode(Double.self, Double.self)
        // Per institution: one step.transaction each; a step row's completed_at is now(), the
        // start of that step's transaction, so consecutive rows are one institution's cycle.
        let cycles = try await database.query("""
            with s as (
                select name, completed_at,
                       lead(completed_at) over (order by completed_at, name) as next_at,
                       lead(name) over (order by completed_at, name) as next_name
                from nightshift.steps where run_id = \(runID))
            select extract(epoch from next_at - completed_at)::float8 * 1000 from s
            where name like 'institution-%' and next_name like 'institution-%' order by 1
            """).map { try $0.decode(Double.self, at: 0) }
        let computes = try await database.query("""
            select extract(epoch from s.created_at - s.computed_at)::float8 * 1000
            from coverage.coverage_snapshots s, nightshift.runs r
            where r.id = \(runID) and s.created_at between r.started_at and r.finished_at order by 1
            """).map { try $0.decode(Double.self, at: 0) }
        let telemetry = try await database.query("""
            select institutions_processed, institutions_failed, total_gaps_detected, total_gaps_resolved, duration_ms::int8
            from coverage.coverage_job_runs where run_id = \(runID)
            """)
        let (processed, failed, detected, resolved, durationMs) = try telemetry[0].decode(Int.self, Int.self, Int.self, Int.self, Int.self)
        let events = try await database.query("""
            select count(*)::int, coalesce(sum(runs_enqueued), 0)::int from nightshift.events e, nightshift.runs r
            where r.id = \(runID) and e.name = 'coverage.gaps.detected' and e.created_at between r.started_at and r.finished_at
            """)[0]
        let (eventCount, fannedOut) = try events.decode(Int.self, Int.self)
        let alerts = try await database.query("""
            select count(*) filter (where status = 'completed')::int, count(*) filter (where status <> 'completed')::int,
                   (select count(*)::int from notify.notifications)
            from nightshift.runs where function_id = 'coverage/gap-alerts'
            """)[0]
        let (alertsDone, alertsOther, notifications) = try alerts.decode(Int.self, Int.self, Int.self)

        let statsAfter = try await waitForStats(processCalls: active * number)
        func delta(_ name: String) -> FunctionStat {
            let a = statsAfter[name] ?? FunctionStat(calls: 0, total: 0, selfTime: 0)
            let b = statsBefore[name] ?? FunctionStat(calls: 0, total: 0, selfTime: 0)
            return FunctionStat(calls: a.calls - b.calls, total: a.total - b.total, selfTime: a.selfTime - b.selfTime)
        }
        let process = delta("coverage.process_institution")
        let compute = delta("coverage.compute_for_institution")
        let deltas = delta("coverage.gap_deltas")
        let prune = delta("coverage.prune_snapshots")
        let sendEvent = delta("nightshift.send_event")
        let checkpoint = delta("nightshift.checkpoint_step")
        let sqlSeconds = process.total / 1000
        let sqlShare = sqlSeconds / wall
        let orchestratorCPU = cpuAfter - cpuBefore
        let backends = backendsAfter.subtracting(backendsBefore)
        let machineBusy = machineAfter.busy - machineBefore.busy
        let machineSeconds = machineAfter.total - machineBefore.total
        let otherCPU = max(0, machineBusy - orchestratorCPU - backends)

        let n = Double(max(1, processed + failed))
        say("run \(number): \(status) in \(f(wall, 2)) s (DB clock, claim → completion); trigger → seen completed \(f(clientSeconds, 2)) s")
        say("  institutions \(processed) processed, \(failed) failed; per institution cycle p50 \(f(pct(cycles, 50), 1)) ms, p95 \(f(pct(cycles, 95), 1)) ms, max \(f(pct(cycles, 100), 1)) ms (n=\(cycles.count))")
        say("  inside process_institution \(f(sqlSeconds, 2)) s = \(f(sqlShare * 100, 1)) % of the run; orchestrator and the rest \(f((1 - sqlShare) * 100, 1)) %")
        say("  compute_for_institution \(f(compute.total / 1000, 2)) s; checkpoint_step \(f(checkpoint.total / 1000, 2)) s; orchestrator CPU \(f(orchestratorCPU, 2)) s; postgres backends CPU \(f(backends, 2)) s; other CPU on the machine \(f(otherCPU, 2)) s")
        say("  events coverage.gaps.detected \(eventCount), gap-alert runs completed \(alertsDone) (other \(alertsOther)), notifications \(notifications); gaps detected \(detected), resolved \(resolved)")

        let detail = "run \(number)" + (shifted.map { ", after shift_coverage on \($0) institutions" } ?? ", first snapshots (baselines)")
        emit("run \(number)", "run wall time", wall, "s", detail: "\(detail); nightshift.runs started_at -> finished_at (DB clock); trigger -> seen completed \(f(clientSeconds, 3)) s; queued \(f(queued * 1000, 1)) ms; coverage_job_runs.duration_ms \(durationMs)")
        emit("run \(number)", "per-institution cycle p50", pct(cycles, 50), "ms", detail: "step rows: consecutive institution steps' transaction starts, n=\(cycles.count)")
        emit("run \(number)", "per-institution cycle p95", pct(cycles, 95), "ms", detail: "as p50")
        emit("run \(number)", "per-institution cycle mean", wall * 1000 / n, "ms", detail: "run wall / institutions")
        emit("run \(number)", "compute_for_institution p50", pct(computes, 50), "ms", detail: "snapshot created_at - computed_at, n=\(computes.count)")
        emit("run \(number)", "compute_for_institution p95", pct(computes, 95), "ms", detail: "as p50")
        emit("run \(number)", "SQL share", sqlShare * 100, "%", detail: "pg_stat_user_functions total_time of coverage.process_institution (\(process.calls) calls, \(f(sqlSeconds, 3)) s) / run wall")
        emit("run \(number)", "orchestrator share", (1 - sqlShare) * 100, "%", detail: "1 - SQL share: transactions, savepoints, checkpoints, round trips, commit flushes, Swift")
        emit("run \(number)", "orchestrator CPU", orchestratorCPU, "s", detail: "getrusage user+sys of the bench process during the run (incl. gap-alert runs and polling)")
        emit("run \(number)", "postgres backends CPU", backends, "s", detail: "/proc utime+stime of this process's connections")
        emit("run \(number)", "events", Double(eventCount), "events", detail: "coverage.gaps.detected, fanned out to \(fannedOut) runs; gap-alert runs completed \(alertsDone), other \(alertsOther); notifications \(notifications)")

        func ms(_ v: Double) -> String { f(v, 1) + " ms" }
        func row(_ figure: String, _ value: String) {
            if let index = runFigures.firstIndex(where: { $0.0 == figure }) {
                runFigures[index].1.append(value)
            } else {
                runFigures.append((figure, (1..<number).map { _ in "" } + [value]))
            }
        }
        row("institutions processed / failed", "\(processed) / \(failed)")
        row("**run wall time** (claim → completion, DB clock)", "**\(f(wall, 2)) s**")
        row("trigger → completion seen by the poller", "\(f(clientSeconds, 2)) s")
        row("…and every gap-alert run finished", "\(f(allDoneSeconds, 2)) s")
        row("**per institution, p50 / p95** (step rows)", "**\(ms(pct(cycles, 50))) / \(ms(pct(cycles, 95)))**")
        row("per institution, mean / max", "\(ms(wall * 1000 / n)) / \(ms(pct(cycles, 100)))")
        row("compute_for_institution per institution, p50 / p95", "\(ms(pct(computes, 50))) / \(ms(pct(computes, 95)))")
        row("time inside process_institution (sum)", "\(f(sqlSeconds, 2)) s")
        row("… of which compute_for_institution / gap_deltas / prune / send_event", "\(f(compute.total / 1000, 2)) / \(f(deltas.total / 1000, 2)) / \(f(prune.total / 1000, 2)) / \(f(sendEvent.total / 1000, 3)) s")
        row("**SQL share** (inside process_institution / wall)", "**\(f(sqlShare * 100, 1)) %**")
        row("**orchestrator share** (the rest)", "**\(f((1 - sqlShare) * 100, 1)) %**")
        row("outside process_institution, per institution (mean)", ms((wall - sqlSeconds) * 1000 / n))
        row("… of which nightshift.checkpoint_step (SQL)", "\(f(checkpoint.total / 1000, 2)) s (\(f(checkpoint.total / 1000 / wall * 100, 1)) %)")
        row("orchestrator process CPU (user+sys)", "\(f(orchestratorCPU, 2)) s (\(f(orchestratorCPU / wall * 100, 1)) % of wall)")
        row("postgres CPU, this process's connections", "\(f(backends, 2)) s")
        row("CPU used by everything else on the machine (other sessions, postgres background)", "\(f(otherCPU, 2)) of \(f(machineSeconds, 1)) core-s")
        row("gaps detected / resolved (telemetry row)", "\(detected) / \(resolved)")
        row("coverage.gaps.detected events / gap-alert runs completed", "\(eventCount) / \(alertsDone)" + (alertsOther > 0 ? " (+\(alertsOther) not completed)" : ""))
        row("notifications (cumulative)", "\(notifications)")
        row("loadavg before → after", "\(loadBefore) → \(loadAfter)")
    }

    /// process_institution alone, per institution, timed inside the server (clock_timestamp
    /// around each call) in one transaction that is rolled back: its distribution without the
    /// orchestrator, round trips or commits.
    func directPass(active: Int) async throws -> String {
        say("direct pass: select coverage.process_institution(id) over \(active) institutions, timed in the server, rolled back …")
        let clock = ContinuousClock()
        let started = clock.now
        let times: [Double] = try await database.withConnection { connection in
            try await connection.executeScript("""
                begin;
                create function pg_temp.bench_time_process(p_id uuid) returns float8 language plpgsql as $$
                declare t0 timestamptz := clock_timestamp();
                begin
                    perform coverage.process_institution(p_id);
                    return extract(epoch from clock_timestamp() - t0) * 1000;
                end $$;
                """)
            let rows = try await connection.query("select pg_temp.bench_time_process(i.id) from coverage.active_institutions() i")
            try await connection.executeScript("rollback")
            return try rows.map { try $0.decode(Double.self, at: 0) }.sorted()
        }
        let seconds = (clock.now - started).seconds
        let sum = times.reduce(0, +)
        say("  \(times.count) calls in \(f(seconds, 2)) s: p50 \(f(pct(times, 50), 1)) ms, p95 \(f(pct(times, 95), 1)) ms, max \(f(pct(times, 100), 1)) ms, sum \(f(sum / 1000, 2)) s")
        emit("direct", "process_institution p50", pct(times, 50), "ms", detail: "server-side clock_timestamp around each call, n=\(times.count), one transaction, rolled back")
        emit("direct", "process_institution p95", pct(times, 95), "ms", detail: "as p50")
        emit("direct", "process_institution sum", sum / 1000, "s", detail: "statement wall \(f(seconds, 3)) s")
        return "Separate pass, after run 2: `coverage.process_institution(id)` alone for each of the \(times.count) active institutions, "
            + "timed inside the server (clock_timestamp around each call; one transaction, rolled back; a third snapshot, no new gaps): "
            + "**p50 \(f(pct(times, 50), 1)) ms, p95 \(f(pct(times, 95), 1)) ms**, max \(f(pct(times, 100), 1)) ms, "
            + "sum \(f(sum / 1000, 2)) s (statement \(f(seconds, 2)) s). Single measurement."
    }

    func definitions() -> [String] {
        [
            "## How the figures are taken", "",
            "- The job is the real `coverage/nightly-recompute` (CoveragePack.jobs) in an in-process `Worker` (default options, pool of 8), triggered once per run with an empty payload; the worker also runs `coverage/gap-alerts` for the events of run 2, concurrently.",
            "- Run wall time: `nightshift.runs.started_at → finished_at` of the run (DB clock, claim to batched completion).",
            "- Per institution: each institution is one `step.transaction`; its `nightshift.steps.completed_at` is `now()`, the start of that step's transaction, so the difference between consecutive institutions' rows is one institution's whole cycle (SQL + orchestrator), n = institutions − 1. compute_for_institution per institution: the snapshot's `created_at − computed_at`.",
            "- SQL share: the time spent inside `coverage.process_institution` during the run (`pg_stat_user_functions.total_time`, `track_functions = all` set on the bench database; deltas around the run) divided by the run wall time. Orchestrator share = the rest: BEGIN/SAVEPOINT/RELEASE/COMMIT round trips, each step's synchronous commit (WAL flush), `nightshift.checkpoint_step`, the list and telemetry steps, claim/completion, Swift (JSON of each step's outcome).",
            "- CPU: getrusage of this process; postgres CPU from /proc of this process's backends; \"everything else\" = the machine's busy CPU time (/proc/stat) minus both (other sessions' work on the shared machine).",
        ]
    }

    // MARK: - Helpers

}


