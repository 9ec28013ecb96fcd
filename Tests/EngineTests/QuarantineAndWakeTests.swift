import Foundation
import Postgres
import TestSupport
import Testing

@testable import Engine

@Suite("quarantined runs get onFailure; runs coming due are picked up without waiting for the poll", .serialized)
struct QuarantineAndWakeTests {
    @Test("a run that lost its worker crash_limit times without progress is quarantined once, and its onFailure runs")
    func quarantineCallsOnFailure() async throws {
        let alerts = AlertLog()
        let function = NightshiftFunction(
            id: "test/killer", crashLimit: 2, payload: NoPayload.self,
            onFailure: { failed in await alerts.record(failed.error) }
        ) { _, _ in NoPayload() }
        try await withEngine([function]) { engine in
            let id = try await engine.client.trigger("test/killer")
            // Two claims by a worker that dies each time, at the same point (no step finished).
            for _ in 0..<2 {
                try await engine.database.execute("update nightshift.runs set run_at = now() where id = \(id)")
                #expect(try await engine.count("select count(*) from nightshift.claim_runs('ghost', 1, '30 seconds') where not quarantined") == 1)
                try await engine.database.execute("update nightshift.runs set lease_expires_at = now() - interval '1 minute' where id = \(id)")
            }
            try await engine.database.execute("update nightshift.runs set run_at = now() where id = \(id) and status = 'queued'")
            let run = try await engine.withWorker { () async throws -> RunRecord in
                let run = try await engine.wait(for: id, status: "failed")
                try await wait(until: { await alerts.messages.count == 1 }, timeout: .seconds(5))
                return run
            }
            #expect(run.displayStatus == "quarantined")
            #expect(await alerts.messages == ["quarantined: worker lost 2 times in a row"])
            #expect(try await engine.count("select count(*) from nightshift.run_attempts where run_id = \(id) and outcome = 'crashed'") == 2)
        }
    }

    @Test("a retry 300 ms away is picked up as it comes due, not at the next poll 10 s later")
    func retryWakesWithoutPoll() async throws {
        let function = NightshiftFunction(
            id: "test/flaky", retries: 1, backoff: .exponential(base: .milliseconds(300)), payload: NoPayload.self
        ) { _, context in
            if context.attempt == 1 { throw Builtins.SimulatedTransientFailure(attempt: 1) }
            return NoPayload()
        }
        try await withEngine([function]) { engine in
            let id = try await engine.client.trigger("test/flaky")
            try await engine.withWorker(pollInterval: .seconds(10)) {
                try await engine.wait(for: id, status: "completed", timeout: .seconds(10))
            }
            let late = try await engine.database.query("""
                select extract(epoch from r.claimed_at - r.run_at)::float8 from nightshift.runs r where r.id = \(id)
                """)[0].decode(Double.self, at: 0)
            // Behaviour, not speed (bench/engine measures the latency): far below the 10 s poll.
            #expect(late < 2, "claimed \(late) s after the retry came due")
        }
    }

    @Test("a durable sleep of 300 ms resumes as it ends, not at the next poll 10 s later")
    func sleepWakesWithoutPoll() async throws {
        try await withEngine(Builtins.all) { engine in
            let id = try await engine.client.trigger("nightshift/diagnostics", payloadJSON: #"{"steps": 2, "sleep_ms": 300}"#)
            try await engine.withWorker(pollInterval: .seconds(10)) {
                try await engine.wait(for: id, status: "completed", timeout: .seconds(10))
            }
            let late = try await engine.database.query("""
                select extract(epoch from r.claimed_at - r.run_at)::float8 from nightshift.runs r where r.id = \(id)
                """)[0].decode(Double.self, at: 0)
            #expect(late < 2, "claimed \(late) s after the sleep ended")
        }
    }
}
