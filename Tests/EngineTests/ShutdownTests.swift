import Foundation
import Postgres
import TestSupport
import Testing

@testable import Engine

@Suite("a worker process stops within its drain timeout", .serialized)
struct ShutdownTests {
    @Test("SIGTERM with a 2 s drain during a 60 s run: exit in under 7 s, another worker resumes it after its last finished step within 1 s")
    func drainThenHandBack() async throws {
        try await withEngine(Builtins.all) { engine in
            // 30 transactional steps of 2 s each: a 60 s run.
            let id = try await engine.client.trigger("nightshift/diagnostics", payloadJSON: #"{"steps": 30, "step_ms": 2000}"#)
            let leaving = try WorkerProcess(
                databaseURL: engine.url, name: "leaving", leaseSeconds: 30, ticker: false, arguments: ["--drain-seconds", "2"])
            defer { leaving.stop() }
            try await wait(until: {
                try await engine.count("select count(*) from nightshift.steps where run_id = \(id) and name = 'step-2'") == 1
            }, timeout: .seconds(40))

            // The survivor is up before the leaving worker stops; its 30 s lease rule would make it
            // wait half a minute for the run if the run were not handed back.
            let survivor = try WorkerProcess(databaseURL: engine.url, name: "survivor", leaseSeconds: 30, ticker: false)
            defer { survivor.stop() }
            try await wait(until: { survivor.output.contains("worker started") }, timeout: .seconds(30))

            let stopping = ContinuousClock.now
            await leaving.stopAwaitingExit()
            let exit = ContinuousClock.now - stopping
            #expect(exit < .seconds(7), "the process exited \(exit) after SIGTERM")
            #expect(leaving.process.terminationStatus == 0, "a clean exit:\n\(leaving.output.suffix(2000))")

            let done = try await engine.count("select count(*) from nightshift.steps where run_id = \(id)")
            try await wait(until: {
                try await engine.count("""
                    select count(*) from nightshift.runs r join nightshift.run_attempts a on a.run_id = r.id
                    where r.id = \(id) and a.outcome = 'released' and r.status = 'running' and r.claimed_at > a.finished_at
                    """) == 1
            }, timeout: .seconds(10))
            let handover = try await engine.database.query("""
                select extract(epoch from r.claimed_at - a.finished_at)::float8, r.attempt, r.crash_count
                from nightshift.runs r join nightshift.run_attempts a on a.run_id = r.id
                where r.id = \(id) and a.outcome = 'released'
                """)[0].decode(Double.self, Int.self, Int.self)
            #expect(handover.0 < 1, "resumed \(handover.0) s after it was handed back")
            #expect(handover.1 == 1 && handover.2 == 0, "no attempt used up, no crash counted")

            // The survivor goes on after the last finished step: the next one runs, none runs twice.
            try await wait(until: {
                try await engine.count("select count(*) from nightshift.steps where run_id = \(id)") > done
            }, timeout: .seconds(10))
            #expect(try await engine.count("""
                select count(*) from (select step from nightshift.diagnostic_effects where run_id = \(id) group by step having count(*) > 1) d
                """) == 0, "no step's effect was written twice")
            #expect(leaving.output.contains("handed back"), "the leaving worker says it handed the run back")
            _ = try await engine.client.cancel(id)
        }
    }
}
