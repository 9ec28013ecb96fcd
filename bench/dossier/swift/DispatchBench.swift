import Foundation
import Notifications
import Postgres

/// BENCH_ONLY=dispatch (bench/notify/run.sh): the notification path alone on a freshly migrated
/// database. Burst rounds: BENCH_NOTIFICATIONS pending deliveries, then a dispatcher from its
/// start until the last is delivered (deliveries/s). Steady: a dispatcher already running while
/// BENCH_RATE notifications a second arrive for BENCH_STEADY_SECONDS, in transactions of 20, and
/// the time from each notification's commit to its delivery (p50, p99) — what a receiver waits.
extension BenchDossier {
    static let steadyRate = setting("BENCH_RATE", 1_000)
    static let steadySeconds = setting("BENCH_STEADY_SECONDS", 10)

    func runDispatch() async throws {
        try await db.query("select notify.configure(100000, array['bench'])")
        let receiver = try await Receiver.start()
        emit(["kind": "data", "notifications": Self.notifications, "rounds": Self.rounds,
              "steady_rate": Self.steadyRate, "steady_seconds": Self.steadySeconds])
        // The rounds find warm notify tables, as a running system's are.
        try await db.executeScript("analyze notify.notifications, notify.deliveries, notify.daily_counts")
        var rates: [Double] = []
        for round in 1...Self.rounds {
            let (_, seconds, note) = try await notificationRound(round, receiver: receiver)
            rates.append(Double(Self.notifications) / seconds)
            emit(["kind": "round", "operation": "dispatch", "round": round, "seconds": seconds,
                  "rate_per_second": Double(Self.notifications) / seconds, "detail": note])
            try await db.executeScript("analyze notify.notifications, notify.deliveries, notify.daily_counts")
        }
        emit(["kind": "summary", "operation": "dispatch", "rate_per_second": median(rates), "rounds": rates,
              "detail": "deliveries/s, median of \(rates.count) burst rounds of \(Self.notifications)"])
        try await steady(receiver: receiver)
        receiver.stop()
    }

    /// The steady phase: sends at a fixed rate while one dispatcher runs, then the commit-to-delivered times.
    func steady(receiver: Receiver) async throws {
        let base = try await db.query("select coalesce(max(id), 0) from notify.deliveries")[0].decode(Int.self, at: 0)
        let (running, group, pool) = try startDispatcher(receiver: receiver)
        let perTransaction = 20
        let interval = Duration.seconds(Double(perTransaction) / Double(Self.steadyRate))
        let total = Self.steadyRate * Self.steadySeconds
        var sent = 0
        var next = clock.now
        while sent < total {
            try await db.query("""
                select count(*) from generate_series(\(sent + 1)::integer, \(sent + perTransaction)::integer) g
                cross join lateral notify.send(md5('steady-user:' || g)::uuid, 'Steady ' || g, 'steady notification',
                                               '{}'::jsonb, format('steady:%s:%s', g, md5(clock_timestamp()::text)))
                """)
            sent += perTransaction
            next = next + interval
            if next > clock.now { try await Task.sleep(until: next) }
        }
        let deadline = clock.now + .seconds(120)
        var delivered = 0
        while clock.now < deadline {
            delivered = try await db.query("""
                select count(*) from notify.deliveries where id > \(base)::bigint and status = 'delivered'
                """)[0].decode(Int.self, at: 0)
            if delivered >= total { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        await group.triggerGracefulShutdown()
        try await running.value
        await pool.close()
        guard delivered >= total else { throw BenchError("steady: \(delivered) of \(total) delivered within 120 s") }
        // created_at is the sending transaction's start: the commit follows it by well under a millisecond.
        let row = try await db.query("""
            select percentile_cont(0.5) within group (order by extract(epoch from delivered_at - created_at))::float8,
                   percentile_cont(0.99) within group (order by extract(epoch from delivered_at - created_at))::float8,
                   max(extract(epoch from delivered_at - created_at))::float8
            from notify.deliveries where id > \(base)::bigint
            """)[0]
        let (p50, p99, worst) = (try row.decode(Double.self, at: 0), try row.decode(Double.self, at: 1), try row.decode(Double.self, at: 2))
        emit(["kind": "summary", "operation": "steady", "p50_seconds": p50, "p99_seconds": p99, "max_seconds": worst,
              "detail": "\(total) notifications at \(Self.steadyRate)/s (transactions of \(perTransaction)) while one dispatcher runs: "
                  + "notify.send's transaction -> delivered_at"])
    }
}
