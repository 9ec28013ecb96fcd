import Config
import Foundation
import Hummingbird
import Logging
import Migrations
import NightshiftSQL
import Notifications
import Postgres
import ServiceLifecycle
import Synchronization

/// bench-dossier <server-url> <database>
///
/// The dossier pack at scale (issue 4, "Benchmark (bench/dossier)"): on a throwaway database
/// it applies the migrations, loads sql/seed/dossier_seed.sql, seeds BENCH_DOSSIERS dossiers
/// (default 100,000, with 50 engagements and 5 commitments each), vacuums, then times, round by
/// round (ROUNDS, default 3): both view refreshes, recomputing every stale score, one forced
/// score (BENCH_SINGLE calls, default 50), overdue detection over about BENCH_OVERDUE (10,000)
/// due commitments (rolled back after each round), and BENCH_NOTIFICATIONS (10,000)
/// notifications sent and delivered by the real `DeliveryDispatcher` to a webhook receiver
/// served by this process on loopback. Before the rounds, the first overdue sweep and the first
/// notification round run once against empty notify tables ("cold"; BENCH_COLD=0 skips them).
/// Each figure is one JSON line on stdout and appended to $BENCH_RESULTS; report.py renders them.
@main
struct BenchDossier {
    static let environment = ProcessInfo.processInfo.environment
    static func setting(_ name: String, _ fallback: Int) -> Int { environment[name].flatMap(Int.init) ?? fallback }

    static let dossiers = setting("BENCH_DOSSIERS", 100_000)
    static let engagementsPer = setting("BENCH_ENGAGEMENTS_PER", 50)
    static let commitmentsPer = setting("BENCH_COMMITMENTS_PER", 5)
    static let rounds = setting("ROUNDS", 3)
    static let singleCalls = setting("BENCH_SINGLE", 50)
    static let overdueTarget = setting("BENCH_OVERDUE", 10_000)
    static let notifications = setting("BENCH_NOTIFICATIONS", 10_000)
    /// 1: keep a database seeded by an earlier run with the same sizes (development only: the
    /// earlier run's scores and notifications are still there).
    static let reuse = environment["BENCH_REUSE"] == "1"
    /// 0: skip the cold overdue sweep and notification round (empty notify tables).
    static let cold = environment["BENCH_COLD"] != "0"
    /// `dispatch`: only the notification path (bench/notify/run.sh): burst rounds and a steady
    /// rate, no dossiers seeded.
    static let dispatchOnly = environment["BENCH_ONLY"] == "dispatch"

    static let logger: Logger = {
        var logger = Logger(label: "bench-dossier")
        logger.logLevel = .error
        return logger
    }()

    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 3 else {
            FileHandle.standardError.write(Data("usage: bench-dossier <server-url> <database>\n".utf8))
            exit(2)
        }
        do {
            try await runAll(server: arguments[1], name: arguments[2])
        } catch {
            FileHandle.standardError.write(Data("bench-dossier: \(error)\n".utf8))
            exit(1)
        }
    }

    static func runAll(server: String, name: String) async throws {
        let url = server + "/" + name
        try await prepare(server: server, name: name)
        let connection = try await PostgresConnection.connect(url: url, applicationName: "bench-dossier")
        let bench = BenchDossier(url: url, db: connection)
        if dispatchOnly {
            try await bench.runDispatch()
        } else {
            try await bench.seed()
            try await bench.run()
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        bench.emit(["kind": "process", "peak_rss_mib": Double(usage.ru_maxrss) / 1024,
                    "detail": "bench-dossier process (timing connection, dispatcher with its pool of 8, webhook receiver), getrusage"])
        await connection.close()
    }

    /// A fresh database with the project's migrations, unless BENCH_REUSE=1 finds one seeded at these sizes.
    static func prepare(server: String, name: String) async throws {
        let admin = try await PostgresConnection.connect(url: server + "/postgres", applicationName: "bench-dossier")
        defer { Task { await admin.close() } }
        if reuse, try await admin.query("select 1 from pg_database where datname = \(name)").count == 1 {
            let probe = try await PostgresConnection.connect(url: server + "/" + name, applicationName: "bench-dossier")
            let seeded = try? await probe.query("select count(*) from dossier.dossiers")[0].decode(Int.self, at: 0)
            await probe.close()
            if seeded == dossiers { return }
        }
        try await admin.executeScript("drop database if exists \(name) with (force)")
        try await admin.executeScript("create database \(name) template template0")
        _ = try await Migrator(sets: [try NightshiftSQL.engineMigrations(), try NightshiftSQL.migrations("dossier")], logger: logger).run(databaseURL: server + "/" + name)
    }

    let url: String
    let db: PostgresConnection
    let clock = ContinuousClock()

    /// Seconds `body` takes, on this process's monotonic clock (round trip included).
    func timed(_ body: () async throws -> Void) async throws -> Double {
        let started = clock.now
        try await body()
        return (clock.now - started).seconds
    }

    // MARK: Seeding

    func seed() async throws {
        if try await db.query("select count(*) from dossier.dossiers")[0].decode(Int.self, at: 0) == Self.dossiers {
            emit(["kind": "note", "detail": "BENCH_REUSE=1: reused the seeded database"])
            return
        }
        let script = try String(contentsOfFile: "sql/seed/dossier_seed.sql", encoding: .utf8)
        try await db.executeScript(script)
        var result = ""
        let seconds = try await timed {
            result = try await db.query("""
                select dossier.seed(\(Self.dossiers)::integer, \(Self.engagementsPer)::integer, \(Self.commitmentsPer)::integer, 0.42)::text
                """)[0].decode(String.self, at: 0)
        }
        let rows = Self.dossiers * (1 + Self.engagementsPer + Self.commitmentsPer)
        emit(["kind": "setup", "operation": "seed", "seconds": seconds, "items": rows, "item": "row", "detail": result])
        let vacuum = try await timed { try await db.executeScript("vacuum analyze") }
        emit(["kind": "setup", "operation": "vacuum analyze", "seconds": vacuum, "items": rows, "item": "row",
              "detail": "the whole database, after seeding"])
    }

    // MARK: The timed operations

    /// Every figure: (operation, items, item, floor seconds per item or nil, floor as the issue states it).
    struct Operation {
        let key: String
        let label: String
        let items: Int
        let item: String
        let floorPerItem: Double?
        let floorText: String
    }

    func run() async throws {
        // One enabled channel and a cap no bench sender reaches: nothing is suppressed, and every
        // notification (overdue ones included) gets a webhook delivery, as in production.
        try await db.query("select notify.configure(100000, array['bench'])")

        let counts = try await db.query("""
            select (select count(*) from dossier.dossiers), (select count(*) from dossier.engagements),
                   (select count(*) from dossier.commitments)
            """)[0].decode(Int.self, Int.self, Int.self)
        let (asOf, due) = try await overdueMoment()
        let sample = try await db.query("""
            select id from dossier.dossiers order by hashtext(id::text), id limit \(Self.singleCalls)
            """).map { try $0.decode(UUID.self, at: 0) }
        let receiver = try await Receiver.start()

        // The seed's floors (issue 4): 10 s for 500 dossiers / 25,000 engagements, 50 ms a score,
        // 2 s for 50 overdue commitments, 100 ms a notification.
        let operations = [
            Operation(key: "refresh_engagement_stats", label: "refresh engagement stats (view, concurrently)", items: counts.0, item: "dossier",
                      floorPerItem: 10.0 / 500, floorText: "10 s / 500 dossiers, 25,000 engagements"),
            Operation(key: "refresh_commitment_stats", label: "refresh commitment stats (view, concurrently)", items: counts.0, item: "dossier",
                      floorPerItem: nil, floorText: "none given"),
            Operation(key: "recalculate_stale_scores", label: "recompute every stale score (all stale)", items: counts.0, item: "score",
                      floorPerItem: 0.050, floorText: "50 ms / score"),
            Operation(key: "calculate_health_score", label: "one forced score (calculate_health_score(id, true))", items: 1, item: "score",
                      floorPerItem: 0.050, floorText: "50 ms / score"),
            Operation(key: "detect_overdue_commitments", label: "overdue detection (mark, notify both owners, rescore)", items: due, item: "commitment",
                      floorPerItem: 2.0 / 50, floorText: "2 s / 50 overdue commitments"),
            Operation(key: "detect_overdue_commitments_cold", label: "overdue detection, cold: empty notify tables (once)", items: due, item: "commitment",
                      floorPerItem: 2.0 / 50, floorText: "2 s / 50 overdue commitments"),
            Operation(key: "notify_send", label: "notify.send (one statement)", items: Self.notifications, item: "notification",
                      floorPerItem: 0.100, floorText: "100 ms / notification"),
            Operation(key: "dispatch", label: "dispatcher: outbox -> webhook -> delivered", items: Self.notifications, item: "notification",
                      floorPerItem: 0.100, floorText: "100 ms / notification"),
            Operation(key: "notify_send_cold", label: "notify.send, cold: empty notify tables (once)", items: Self.notifications, item: "notification",
                      floorPerItem: 0.100, floorText: "100 ms / notification"),
            Operation(key: "dispatch_cold", label: "dispatcher, cold round (once)", items: Self.notifications, item: "notification",
                      floorPerItem: 0.100, floorText: "100 ms / notification"),
            Operation(key: "notify_end_to_end", label: "notification end to end (send + deliver)", items: Self.notifications, item: "notification",
                      floorPerItem: 0.100, floorText: "100 ms / notification"),
        ]
        emit(["kind": "data", "seed_call": "dossier.seed(\(Self.dossiers), \(Self.engagementsPer), \(Self.commitmentsPer), 0.42)", "dossiers": counts.0, "engagements": counts.1, "commitments": counts.2,
              "overdue_as_of": asOf, "overdue_due": due, "single_score_sample": sample.count])
        // Per-function times of the current transaction (pg_stat_xact_user_functions), for the details.
        try await db.executeScript("set track_functions = 'pl'")

        // Every dossier starts never scored: the first pass inserts them all (once, not a round).
        var first: (Double, String) = (0, "")
        first.0 = try await timed {
            first.1 = try await db.query("select dossier.recalculate_stale_scores()::text")[0].decode(String.self, at: 0)
        }
        emit(["kind": "setup", "operation": "first scoring (never scored)", "seconds": first.0, "items": counts.0, "item": "score",
              "detail": first.1])

        var samples: [String: [Double]] = [:]
        var details: [String: String] = [:]

        // Cold: the notify tables are empty and analyzed as such (a fresh install, or the
        // first sweep after it). Once each, before the notify tables have any history.
        // Each starts from empty notify tables vacuumed and analyzed as such (the rolled-back
        // sweep's dead rows removed), whatever autovacuum did meanwhile.
        let vacuumNotify = "vacuum analyze notify.notifications, notify.deliveries, notify.daily_counts, notify.suppressed"
        if Self.cold {
            try await db.executeScript(vacuumNotify)
            let (seconds, detail) = try await overdueRound(asOf: asOf)
            record(&samples, &details, "detect_overdue_commitments_cold", 0, seconds, detail)
            try await db.executeScript(vacuumNotify)
            let (send, dispatch, note) = try await notificationRound(0, receiver: receiver)
            record(&samples, &details, "notify_send_cold", 0, send, "\(Self.notifications) notify.send calls in one statement, one transaction, into empty notify tables")
            record(&samples, &details, "dispatch_cold", 0, dispatch, note)
        }
        // What autovacuum does within a minute of such a commit; explicit, so every run measures
        // the same state (and the session's cached plans are replanned).
        try await db.executeScript("analyze notify.notifications, notify.deliveries, notify.daily_counts")

        for round in 1...Self.rounds {
            // Rounds interleave the operations, so a slow phase of this noisy machine spreads over all of them.
            for key in ["refresh_engagement_stats", "refresh_commitment_stats"] {
                var result = ""
                let seconds = try await timed {
                    result = try await db.query("select dossier.\(unescaped: key)()::text")[0].decode(String.self, at: 0)
                }
                record(&samples, &details, key, round, seconds, result)
            }

            // Every score stale: a threshold of zero makes each score computed before now stale.
            var stale = ""
            let staleSeconds = try await timed {
                stale = try await db.query("select dossier.recalculate_stale_scores(interval '0')::text")[0].decode(String.self, at: 0)
            }
            record(&samples, &details, "recalculate_stale_scores", round, staleSeconds, stale)

            var single: [Double] = []
            for id in sample {
                single.append(try await timed { try await db.query("select dossier.calculate_health_score(\(id), true)") })
            }
            single.sort()
            record(&samples, &details, "calculate_health_score", round, median(single),
                   String(format: "median of %d forced scores of distinct dossiers, each its own transaction; min %.2f ms, p90 %.2f ms, max %.2f ms",
                          single.count, single[0] * 1000, single[Int(Double(single.count - 1) * 0.9)] * 1000, single[single.count - 1] * 1000))

            let (overdueSeconds, overdue) = try await overdueRound(asOf: asOf)
            record(&samples, &details, "detect_overdue_commitments", round, overdueSeconds, overdue)

            let (send, dispatch, note) = try await notificationRound(round, receiver: receiver)
            record(&samples, &details, "notify_send", round, send, "\(Self.notifications) notify.send calls in one statement, one transaction")
            record(&samples, &details, "dispatch", round, dispatch, note)
            record(&samples, &details, "notify_end_to_end", round, send + dispatch, "send + dispatch of the same round")
        }

        for op in operations {
            let values = samples[op.key] ?? []
            guard !values.isEmpty else { continue }
            let seconds = median(values)
            let perItem = seconds / Double(max(op.items, 1))
            var record: [String: Any] = [
                "kind": "summary", "operation": op.key, "label": op.label, "items": op.items, "item": op.item,
                "seconds": seconds, "per_item_seconds": perItem, "rounds": values, "floor": op.floorText,
                "detail": details[op.key] ?? "",
            ]
            if let floor = op.floorPerItem {
                record["floor_per_item_seconds"] = floor
                record["floor_scaled_seconds"] = floor * Double(op.items)
                record["ratio"] = floor / perItem
            }
            if op.key.hasPrefix("dispatch") { record["rate_per_second"] = Double(op.items) / seconds }
            if op.key == "refresh_engagement_stats" { record["per_engagement_seconds"] = seconds / Double(max(counts.1, 1)) }
            if op.key == "refresh_commitment_stats" { record["per_commitment_seconds"] = seconds / Double(max(counts.2, 1)) }
            emit(record)
        }
        receiver.stop()
    }

    func record(_ samples: inout [String: [Double]], _ details: inout [String: String], _ key: String, _ round: Int, _ seconds: Double, _ detail: String) {
        samples[key, default: []].append(seconds)
        details[key] = detail
        emit(["kind": "round", "operation": key, "round": round, "seconds": seconds, "detail": detail])
    }

    /// One overdue sweep for real as of `asOf`, rolled back so every round finds the same
    /// commitments: its time, its result and where the time went (per function).
    func overdueRound(asOf: String) async throws -> (Double, String) {
        // Earlier transactions' function counts, still pending in this backend, are flushed when
        // it goes idle after this: pg_stat_xact_user_functions then shows this transaction alone.
        try await db.query("select pg_stat_force_next_flush()")
        try await db.executeScript("begin")
        var result = ""
        let seconds = try await timed {
            result = try await db.query("select dossier.detect_overdue_commitments(false, \(asOf)::timestamptz)::text")[0].decode(String.self, at: 0)
        }
        let functions = try await db.query("""
            select string_agg(format('%s.%s %s calls %s ms (self %s ms)', schemaname, funcname, calls,
                                     round(total_time::numeric), round(self_time::numeric)), '; ' order by total_time desc)
            from pg_stat_xact_user_functions
            """)[0].decode(String?.self, at: 0)
        try await db.executeScript("rollback")
        return (seconds, "as_of \(asOf): \(result), rolled back; \(functions ?? "")")
    }

    /// The moment whose calendar day puts about BENCH_OVERDUE pending/in-progress commitments
    /// past due (noon, in the pack's time zone, of the day after the last due date needed),
    /// and how many that is. Open commitments are due both before and after today, so any
    /// count is reachable by moving the day.
    func overdueMoment() async throws -> (String, Int) {
        let row = try await db.query("""
            with days as (
                select due_date, sum(count(*)) over (order by due_date) as cumulative
                from dossier.commitments where status in ('pending', 'in_progress')
                group by due_date
            ), chosen as (
                select due_date, cumulative from days where cumulative >= \(Self.overdueTarget)::bigint
                union all
                select max(due_date), max(cumulative) from days
                order by 1 limit 1
            )
            select (((c.due_date + 1)::timestamp + interval '12 hours') at time zone s.time_zone)::text, c.cumulative::int8
            from chosen c cross join dossier.settings s
            """)[0]
        return (try row.decode(String.self, at: 0), try row.decode(Int.self, at: 1))
    }

    /// One round of notifications: BENCH_NOTIFICATIONS sends in one statement (to as many
    /// distinct users), then a fresh `DeliveryDispatcher`, as `serve` and `worker` run it
    /// (default options, a pool of its own), from its start until every one of them is delivered.
    func notificationRound(_ round: Int, receiver: Receiver) async throws -> (Double, Double, String) {
        let n = Self.notifications
        let base = try await db.query("select coalesce(max(id), 0) from notify.deliveries")[0].decode(Int.self, at: 0)
        let before = receiver.count
        var outcomes = (0, 0)
        let send = try await timed {
            outcomes = try await db.query("""
                select count(*) filter (where s.outcome = 'sent'), count(*)
                from generate_series(1, \(n)::integer) g
                cross join lateral notify.send(
                    md5('bench-user:' || g)::uuid, 'Bench notification ' || g,
                    format('Notification %s of bench round %s', g, \(round)::integer),
                    jsonb_build_object('round', \(round)::integer, 'n', g),
                    format('bench:%s:%s:%s', \(round)::integer, g, md5(clock_timestamp()::text))) as s
                """)[0].decode(Int.self, Int.self)
        }
        guard outcomes.0 == n else { throw BenchError("only \(outcomes.0) of \(n) notifications were sent (the rest suppressed or duplicates)") }
        let pending = try await db.query("select count(*) from notify.deliveries where id > \(base)::bigint and status = 'pending'")[0].decode(Int.self, at: 0)
        guard pending == n else { throw BenchError("\(pending) pending deliveries after sending \(n), expected \(n)") }

        let started = try await db.query("select extract(epoch from clock_timestamp())::float8")[0].decode(Double.self, at: 0)
        let (running, group, pool) = try startDispatcher(receiver: receiver)
        let deadline = clock.now + .seconds(600)
        var state = (0, 0)
        while clock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            state = try await db.query("""
                select count(*) filter (where status = 'delivered'), count(*) filter (where status = 'failed')
                from notify.deliveries where id > \(base)::bigint
                """)[0].decode(Int.self, Int.self)
            if state.0 + state.1 >= n { break }
        }
        let last = try await db.query("""
            select extract(epoch from max(delivered_at))::float8, max(attempts)::int8 from notify.deliveries where id > \(base)::bigint
            """)[0].decode(Double?.self, Int?.self)
        await group.triggerGracefulShutdown()
        try await running.value
        await pool.close()
        guard state.0 == n, let finished = last.0 else {
            throw BenchError("round \(round): \(state.0) of \(n) deliveries delivered, \(state.1) failed, within 600 s")
        }
        let seconds = finished - started
        let options = DispatcherOptions()
        let note = "\(n) deliveries on channel bench; dispatcher start -> last delivered_at (DB clock); default options "
            + "(claims of \(options.batchSize), \(options.maxInFlight) in flight, 60 s lease), pool 8; the receiver got "
            + "\(receiver.count - before) requests; most attempts \(last.1 ?? 0)"
        return (send, seconds, note)
    }

    /// A `DeliveryDispatcher` as `serve` and `worker` run it (default options, a pool of its own)
    /// for the receiver's channel, in a service group that is already running.
    func startDispatcher(receiver: Receiver) throws -> (Task<Void, any Error>, ServiceGroup, PostgresPool) {
        let toml = """
            [auth]
            jwt_secret = "0123456789abcdef0123456789abcdef"
            anon_key = "a"
            service_role_key = "s"

            [notifications]
            daily_cap_per_user = 100000

            [notifications.channels.bench]
            webhook_url = "\(receiver.url)"
            # Signed, as production channels are: the measurement includes the HMAC.
            webhook_secret = "whsec_YmVuY2gtZG9zc2llci13ZWJob29rLWtleSE="
            """
        let settings = try NightshiftConfig.parse(toml, source: "bench-dossier").notifications
        let pool = PostgresPool(configuration: PostgresConfiguration(url: url, applicationName: "bench-dossier-dispatcher"),
                                maxConnections: 8, acquireTimeout: .seconds(30))
        let dispatcher = DeliveryDispatcher(database: pool, settings: settings, logger: Self.logger)
        let group = ServiceGroup(configuration: .init(services: [dispatcher], logger: Self.logger))
        return (Task { try await group.run() }, group, pool)
    }

    func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// One JSON line on stdout, appended to $BENCH_RESULTS too.
    func emit(_ record: [String: Any]) {
        var record = record
        record["ts"] = ISO8601DateFormatter().string(from: Date())
        let line = String(decoding: try! JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self)
        print(line)
        if let path = Self.environment["BENCH_RESULTS"], let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(Data((line + "\n").utf8))
            handle.closeFile()
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The webhook receiver: `POST /hook` on 127.0.0.1 (a free port) answers 200 and counts.
final class Receiver: Sendable {
    let url: String
    private let received: Counter
    private let task: Task<Void, any Error>

    var count: Int { received.value.load(ordering: .relaxed) }

    private init(url: String, received: Counter, task: Task<Void, any Error>) {
        self.url = url
        self.received = received
        self.task = task
    }

    static func start() async throws -> Receiver {
        let counter = Counter()
        let router = Router()
        router.post("hook") { request, _ -> Response in
            var request = request
            _ = try await request.collectBody(upTo: 1 << 20)
            counter.value.add(1, ordering: .relaxed)
            return Response(status: .ok)
        }
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portSink.yield(channel.localAddress?.port ?? 0) },
            logger: BenchDossier.logger)
        let task = Task { try await app.run() }
        var port = 0
        for await value in ports { port = value; break }
        guard port > 0 else { throw BenchError("the webhook receiver did not start") }
        return Receiver(url: "http://127.0.0.1:\(port)/hook", received: counter, task: task)
    }

    func stop() { task.cancel() }
}

final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
