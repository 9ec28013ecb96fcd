import Foundation
import Postgres
import Synchronization
import Testing

@testable import Engine

@Suite("a run's NOTIFY is answered with a claim on the listener's connection", .serialized)
struct ClaimOnNotifyTests {
    /// The pickup moments a worker reports, in order.
    final class Moments: Sendable {
        private let recorded = Mutex<[PickupMoment]>([])
        var observer: PickupObserver { { moment, _ in self.recorded.withLock { $0.append(moment) } } }
        var all: [PickupMoment] { recorded.withLock { $0 } }
        func clear() { recorded.withLock { $0 = [] } }

        /// The last moments, for a failure message: whether a NOTIFY arrived, the loop woke, who claimed.
        var summary: String {
            all.suffix(30).map { moment in
                switch moment {
                case .notified: "notified"
                case .woke: "woke"
                case .claimed(let ids): "claim loop claimed \(ids.count)"
                case .claimedOnNotification(let ids): "listener claimed \(ids.count)"
                }
            }.joined(separator: ", ")
        }

        /// Runs `body`; when it throws, records what the worker did last beside the error.
        func explaining<T>(isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T) async throws -> T {
            do {
                return try await body()
            } catch {
                Issue.record("pickup moments before the failure (last 30): \(summary)")
                throw error
            }
        }
    }

    /// Which claim returned `run`: "listener" (on a NOTIFY), "claim loop", or nil.
    static func claimer(of run: UUID, in moments: [PickupMoment]) -> String? {
        for moment in moments {
            switch moment {
            case .claimedOnNotification(let ids) where ids.contains(run): return "listener"
            case .claimed(let ids) where ids.contains(run): return "claim loop"
            default: continue
            }
        }
        return nil
    }

    static let quick = NightshiftFunction(id: "test/quick", payload: NoPayload.self) { _, _ in NoPayload() }

    /// Returns once the worker listens: a run it finished, however it was claimed, proves it
    /// (the worker claims once it hears `.listening`), whatever the machine's load.
    static func untilListening(_ engine: Harness, _ moments: Moments) async throws {
        try await engine.wait(for: try await engine.client.trigger("test/quick"), status: "completed", timeout: .seconds(20))
        // The claims of the start and the one its freed slot may ask for are over once the
        // worker's pickups go quiet: a fixed pause was outrun under the full suite's load.
        var seen = -1
        let deadline = ContinuousClock.now + .seconds(10)
        while moments.all.count != seen, ContinuousClock.now < deadline {
            seen = moments.all.count
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    @Test("the listener claims a notified run itself; with the option off, the claim loop does")
    func listenerClaims() async throws {
        try await withEngine([Self.quick]) { engine in
            let moments = Moments()
            // A poll far away: only the NOTIFY can bring the run in quickly.
            try await engine.withWorker(pollInterval: .seconds(30), pickupObserver: moments.observer) {
                try await Self.untilListening(engine, moments)
                let run = try await engine.client.trigger("test/quick")
                try await engine.wait(for: run, status: "completed", timeout: .seconds(20))
                #expect(Self.claimer(of: run, in: moments.all) == "listener")
            }
            // Without it, the NOTIFY wakes the claim loop, which claims.
            moments.clear()
            try await engine.withWorker(pollInterval: .seconds(30), claimOnNotification: false, pickupObserver: moments.observer) {
                try await Self.untilListening(engine, moments)
                let run = try await engine.client.trigger("test/quick")
                try await engine.wait(for: run, status: "completed", timeout: .seconds(20))
                #expect(Self.claimer(of: run, in: moments.all) == "claim loop")
            }
        }
    }

    @Test("each listener connection is readied before its first notification: the claim prepared and run once for no runs")
    func primedOnEveryConnection() async throws {
        // The backend whose last statement was the listener's claim: only the listener runs it (the
        // pattern does not match this query's own text, which any of the harness's connections may
        // have run last).
        let primed: PostgresQuery = """
            select coalesce(max(pid), 0) from pg_stat_activity
            where datname = current_database() and query like 'select c.%from nightshift.claim_unlimited_runs(%'
            """
        try await withEngine([Self.quick]) { engine in
            let moments = Moments()
            // A poll of 5 s, not 30: a run triggered while the listener reconnects (before its
            // LISTEN) is the poll's, and must not outlast the wait on a loaded machine; the last
            // run's claimer is still asserted to be the listener.
            try await engine.withWorker(pollInterval: .seconds(5), pickupObserver: moments.observer) {
                // Nothing triggered yet: the claim it ran can only be the priming one.
                var first = 0
                try await wait(until: { first = try await engine.count(primed); return first != 0 })
                #expect(try await engine.count("select count(*) from nightshift.runs") == 0)
                _ = try await engine.database.query("select pg_terminate_backend(\(first)::int, 5000)")
                // The reconnected listener readies its new connection the same way.
                try await wait(until: { let pid = try await engine.count(primed); return pid != 0 && pid != first })
                // It failed in CI twice (a run still queued after 20 s): say what the worker did.
                try await moments.explaining { try await Self.untilListening(engine, moments) }
                let run = try await engine.client.trigger("test/quick")
                try await moments.explaining { try await engine.wait(for: run, status: "completed", timeout: .seconds(20)) }
                #expect(Self.claimer(of: run, in: moments.all) == "listener")
            }
        }
    }

    @Test("the listener's and the claim loop's claims together never run more than the worker's concurrency")
    func concurrencyHolds() async throws {
        let running = Mutex<(now: Int, peak: Int)>((0, 0))
        let slow = NightshiftFunction(id: "test/slow", payload: [String: Int].self) { _, _ in
            running.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
            try await Task.sleep(for: .milliseconds(80))
            running.withLock { $0.now -= 1 }
            return NoPayload()
        }
        try await withEngine([slow]) { engine in
            // Queued before the worker starts: the claim loop takes these.
            try await engine.database.execute("select nightshift.enqueue_many('test/slow', '[{}, {}, {}, {}]')")
            try await engine.withWorker(concurrency: 3, pollInterval: .milliseconds(50)) {
                // Triggered while it works: NOTIFYs the listener answers, whenever a slot is free.
                for _ in 0..<12 {
                    _ = try await engine.client.trigger("test/slow")
                    try await Task.sleep(for: .milliseconds(10))
                }
                try await wait(until: { try await engine.count("select count(*) from nightshift.runs where status = 'completed'") == 16 })
            }
            #expect(running.withLock { $0.peak } == 3)
            #expect(try await engine.count("select count(*) from nightshift.run_attempts where outcome <> 'completed'") == 0)
        }
    }

    @Test("a completed run asks for a claim only when runs may be waiting for its slot")
    func freedSlotClaimsOnlyWithBacklog() async throws {
        let gate = Mutex(false)
        let slow = NightshiftFunction(id: "test/held", payload: NoPayload.self) { _, _ in
            while !gate.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
            return NoPayload()
        }
        try await withEngine([Self.quick, slow]) { engine in
            let moments = Moments()
            let claimLoopClaims = { moments.all.count { if case .claimed = $0 { true } else { false } } }
            // Two slots: a claim that fills every free slot says nothing about what is left, so with
            // one slot every pickup would (rightly) leave a mark.
            try await engine.withWorker(concurrency: 2, pollInterval: .seconds(30), pickupObserver: moments.observer) { (worker: Worker) in
                try await Self.untilListening(engine, moments)
                // Idle: the listener claims each run; the slot each frees is worth no claim.
                moments.clear()
                for _ in 0..<5 {
                    let run = try await engine.client.trigger("test/quick")
                    try await engine.wait(for: run, status: "completed", timeout: .seconds(20))
                    // The database shows the run completed a task hop before the worker frees its
                    // slot: a run triggered in between finds one slot of two free, fills it, and
                    // rightly asks the claim loop for what may be left.
                    try await wait(until: { worker.inFlightRuns.count == 0 })
                }
                try await Task.sleep(for: .milliseconds(200))
                #expect(claimLoopClaims() == 0, "\(moments.summary)")
                // Busy: a run notified while every slot is taken waits for one, and gets it as soon
                // as one is freed (the poll is 30 s away).
                for _ in 0..<2 {
                    let held = try await engine.client.trigger("test/held")
                    try await engine.wait(for: held, status: "running", timeout: .seconds(20))
                }
                let waiting = try await engine.client.trigger("test/quick")
                try await Task.sleep(for: .milliseconds(200))
                #expect(try await engine.count("select count(*) from nightshift.runs where id = \(waiting) and status = 'queued'") == 1)
                gate.withLock { $0 = true }
                try await engine.wait(for: waiting, status: "completed", timeout: .seconds(20))
                #expect(Self.claimer(of: waiting, in: moments.all) == "claim loop")
            }
        }
    }

    @Test("a NOTIFY for a function with a concurrency limit, or for a retry not yet due, is left to the claim loop")
    func claimLoopKeepsTheRest() async throws {
        let attempts = Mutex(0)
        let flaky = NightshiftFunction(id: "test/flaky", retries: 1, backoff: .exponential(base: .milliseconds(400), multiplier: 1, max: .milliseconds(400)),
                                       payload: NoPayload.self) { _, _ in
            struct Flaky: Error {}
            if attempts.withLock({ $0 += 1; return $0 }) == 1 { throw Flaky() }
            return NoPayload()
        }
        let single = NightshiftFunction(id: "test/single", concurrency: .singleton, payload: NoPayload.self) { _, _ in NoPayload() }
        try await withEngine([flaky, single, Self.quick]) { engine in
            let moments = Moments()
            // (A poll of a second: a group's hint that commits while a claim folds is folded by the next claim.)
            try await engine.withWorker(pollInterval: .seconds(1), pickupObserver: moments.observer) {
                try await Self.untilListening(engine, moments)
                let limited = try await engine.client.trigger("test/single")
                try await engine.wait(for: limited, status: "completed", timeout: .seconds(20))
                #expect(Self.claimer(of: limited, in: moments.all) == "claim loop")
            }
            try await engine.withWorker(pollInterval: .seconds(30)) {
                try await Self.untilListening(engine, moments)
                // The retry's NOTIFY finds nothing due; the claim loop arms its timer (the poll is 30 s away).
                let started = ContinuousClock.now
                let retried = try await engine.client.trigger("test/flaky")
                let run = try await engine.wait(for: retried, status: "completed", timeout: .seconds(20))
                #expect(run.attempt == 2)
                // Well before the 30 s poll, even on a loaded machine.
                #expect(ContinuousClock.now - started < .seconds(10))
            }
        }
    }
}
