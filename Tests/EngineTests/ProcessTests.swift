import Foundation
import Postgres
import TestSupport
import Testing

@testable import Engine

@Suite("several nightshift processes on one database", .serialized)
struct ProcessTests {
    @Test("kill -9 between two steps: another worker finishes the run, every step ran once")
    func killBetweenSteps() async throws {
        try await withEngine(Builtins.all) { engine in
            let id = try await engine.client.trigger("nightshift/diagnostics", payloadJSON: #"{"steps": 3, "step_ms": 1500}"#)
            let doomed = try WorkerProcess(databaseURL: engine.url, name: "doomed")
            try await wait(until: { try await engine.count("select count(*) from nightshift.steps where run_id = \(id) and name = 'step-1'") == 1 }, timeout: .seconds(30))
            doomed.kill()
            let running = try await engine.client.run(id)
            #expect(running?.status == "running")

            let survivor = try WorkerProcess(databaseURL: engine.url, name: "survivor")
            defer { survivor.stop() }
            let run = try await engine.wait(for: id, status: "completed", timeout: .seconds(40))
            for step in ["step-1", "step-2", "step-3"] {
                #expect(try await engine.count("select count(*) from nightshift.diagnostic_effects where run_id = \(id) and step = \(step)") == 1,
                        "\(step) ran exactly once")
            }
            #expect(try await engine.count("select count(*) from nightshift.run_attempts where run_id = \(id) and outcome = 'crashed'") == 1)
            #expect(try await engine.count("select count(*) from nightshift.ended_attempts where run_id = \(id) and outcome = 'completed'") == 1)
            #expect(run.attempt == 1, "a crash does not use up an attempt")
        }
    }

    @Test("a singleton under contention from two worker processes never runs twice at once")
    func singletonAcrossProcesses() async throws {
        // The worker binary declares only the built-ins; config makes diagnostics a singleton.
        let config = try Self.config(adding: "[jobs.\"nightshift/diagnostics\"]\nmax_concurrency = 1\n")
        defer { try? FileManager.default.removeItem(at: config) }
        try await withEngine(Builtins.all) { engine in
            let workers = try ["left", "right"].map { try WorkerProcess(databaseURL: engine.url, name: $0, config: config.path, ticker: false) }
            defer { workers.forEach { $0.stop() } }
            // A run takes its function's limit when it is enqueued: trigger once the workers synced it.
            try await wait(until: {
                try await engine.count("select count(*) from nightshift.functions where id = 'nightshift/diagnostics' and concurrency_limit = 1") == 1
            }, timeout: .seconds(30))
            var ids: [UUID] = []
            for _ in 0..<8 {
                ids.append(try await engine.client.trigger("nightshift/diagnostics", payloadJSON: #"{"steps": 1, "step_ms": 250}"#))
            }
            for id in ids { try await engine.wait(for: id, status: "completed", timeout: .seconds(60)) }
            // Each step sleeps 250 ms in the database, then records the moment it ended: two
            // runs that did not overlap recorded at least 250 ms apart.
            let overlaps = try await engine.count("""
                select count(*) from nightshift.diagnostic_effects x join nightshift.diagnostic_effects y on x.run_id < y.run_id
                where abs(extract(epoch from x.recorded_at - y.recorded_at)) < 0.25
                """)
            #expect(overlaps == 0, "no two runs of the singleton overlapped")
            #expect(try await engine.count("select count(*) from nightshift.diagnostic_effects") == 8)
            #expect(try await engine.count("select count(*) from nightshift.ended_attempts where outcome = 'completed'") == 8)
        }
    }

    static func config(adding toml: String) throws -> URL {
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("nightshift-\(UUID().uuidString.prefix(8)).toml")
        let base = try String(contentsOf: TestDatabase.projectRoot.appendingPathComponent("supabase-like-config/config.toml"), encoding: .utf8)
        try (base + "\n" + toml).write(to: config, atomically: true, encoding: .utf8)
        return config
    }

    @Test("two workers with two tickers for over a minute: exactly one run per cron slot")
    func oneRunPerSlot() async throws {
        let config = try Self.config(adding: "[jobs.\"nightshift/noop\"]\ncron = \"* * * * *\"\n")
        defer { try? FileManager.default.removeItem(at: config) }

        try await withEngine(Builtins.all) { engine in
            let started = try await engine.database.query("select now()")[0].decode(Date.self, at: 0)
            let workers = try ["one", "two"].map { try WorkerProcess(databaseURL: engine.url, name: $0, config: config.path) }
            try await Task.sleep(for: .seconds(65))
            workers.forEach { $0.stop() }
            let finished = try await engine.database.query("select now()")[0].decode(Date.self, at: 0)

            let slots = try await engine.database.query("""
                select trigger_slot, count(*)::int, bool_and(status = 'completed')
                from nightshift.runs where function_id = 'nightshift/noop' group by trigger_slot order by 1
                """).map { try $0.decode(Date.self, Int.self, Bool.self) }
            let boundaries = Int(finished.timeIntervalSince1970 / 60) - Int(started.timeIntervalSince1970 / 60)
            #expect(slots.count == boundaries, "one run for each of the \(boundaries) minute boundaries crossed")
            #expect(slots.allSatisfy { $0.1 == 1 }, "no slot ran twice")
            #expect(slots.allSatisfy { $0.2 }, "every slot's run completed")
            #expect(try await engine.count("select count(distinct lease_owner) from nightshift.runs") >= 1)
        }
    }
}
