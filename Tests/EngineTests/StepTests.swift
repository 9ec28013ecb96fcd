import Foundation
import Postgres
import Testing

@testable import Engine

@Suite("durable steps, retries and failures", .serialized)
struct StepTests {
    @Test("a retried run returns stored step outputs without running those steps again")
    func memoizedSteps() async throws {
        let function = NightshiftFunction(id: "test/memo", retries: 2, backoff: .exponential(base: .milliseconds(50)), payload: NoPayload.self) { _, context in
            let first: Int = try await context.step.run("first") {
                try await context.database.execute("insert into effects values (\(context.runID), 'first')")
                return 41
            }
            let second: Int = try await context.step.run("second") {
                try await context.database.execute("insert into effects values (\(context.runID), 'second')")
                if context.attempt == 1 { throw URLError(.networkConnectionLost) }
                return first + 1
            }
            return ["answer": second]
        }
        try await withEngine([function]) { engine in
            try await engine.database.execute("create table effects (run_id uuid, step text)")
            let id = try await engine.client.trigger("test/memo")
            let run = try await engine.withWorker { try await engine.wait(for: id, status: "completed") }
            #expect(run.attempt == 2)
            #expect(run.output == .object(["answer": .number(42)]))
            // The retried attempt is a run_attempts row; the completing one is read off the run.
            guard case .array(let attempts) = run.attempts else { Issue.record("attempts: \(run.attempts)"); return }
            #expect(attempts.map { $0["outcome"] } == [.string("retrying"), .string("completed")], "\(run.attempts)")
            #expect(attempts.map { $0["attempt"] } == [.number(1), .number(2)])
            #expect(try await engine.count("select count(*) from effects where step = 'first'") == 1)
            #expect(try await engine.count("select count(*) from effects where step = 'second'") == 2)
            #expect(try await engine.count("select count(*) from nightshift.steps where run_id = \(id)") == 2)
        }
    }

    @Test("retries follow the 1 s, 2 s, 4 s backoff, then the run fails with every attempt kept")
    func backoffSchedule() async throws {
        try await withEngine(Builtins.all) { engine in
            let id = try await engine.client.trigger("nightshift/diagnostics", payloadJSON: #"{"fail_attempts": 9, "steps": 0}"#)
            let run = try await engine.withWorker { try await engine.wait(for: id, status: "failed", timeout: .seconds(30)) }
            #expect(run.attempt == 4)
            // Gap between one attempt's end and the next one's start, as recorded by the database.
            let gaps = try await engine.database.query("""
                select extract(epoch from lead(started_at) over (order by attempt) - finished_at)::float8
                from nightshift.ended_attempts where run_id = \(id) order by attempt
                """).compactMap { try $0.decode(Double?.self, at: 0) }
            #expect(gaps.count == 3)
            for (gap, expected) in zip(gaps, [1.0, 2.0, 4.0]) {
                #expect(gap >= expected - 0.05 && gap < expected + 0.8, "retry gap \(gap) s, expected about \(expected) s")
            }
            #expect(try await engine.count("select count(*) from nightshift.run_attempts where run_id = \(id) and error is not null") == 4)
        }
    }

    @Test("a non-retriable error fails the run at once and calls onFailure")
    func nonRetriable() async throws {
        let alerts = AlertLog()
        let function = NightshiftFunction(
            id: "test/broken", retries: 5, payload: NoPayload.self,
            onFailure: { failed in await alerts.record(failed.error) }
        ) { _, _ -> NoPayload in
            throw NonRetriableError("the input can never work")
        }
        try await withEngine([function]) { engine in
            let id = try await engine.client.trigger("test/broken")
            let run = try await engine.withWorker { try await engine.wait(for: id, status: "failed") }
            #expect(run.attempt == 1)
            #expect(run.error?["message"] == .string("the input can never work"))
            try await Task.sleep(for: .milliseconds(100))
            #expect(await alerts.messages == ["the input can never work"])
        }
    }

    @Test("a permanent client error is not retried; a transient one is")
    func classification() {
        #expect(Worker.isRetriable(NonRetriableError("x")) == false)
        #expect(Worker.isRetriable(Builtins.SimulatedTransientFailure(attempt: 1)))
        #expect(Worker.isRetriable(URLError(.badURL)))
    }

    @Test("an attempt past its timeout fails and is retried")
    func timeout() async throws {
        let function = NightshiftFunction(id: "test/slow", retries: 1, backoff: .exponential(base: .milliseconds(50)), timeout: .milliseconds(300), payload: NoPayload.self) { _, context in
            if context.attempt == 1 { try await Task.sleep(for: .seconds(5)) }
            return NoPayload()
        }
        try await withEngine([function]) { engine in
            let id = try await engine.client.trigger("test/slow")
            let run = try await engine.withWorker { try await engine.wait(for: id, status: "completed") }
            #expect(run.attempt == 2)
            let first = try await engine.database.query("select error->>'message' from nightshift.run_attempts where run_id = \(id) and attempt = 1")
            #expect(try first[0].decode(String?.self, at: 0)?.contains("timed out") == true)
        }
    }

    @Test("an attempt past its timeout cancels the statement it is blocked in, on the server")
    func timeoutCancelsTheStatement() async throws {
        let function = NightshiftFunction(id: "test/stuck-sql", retries: 0, timeout: .milliseconds(500), payload: NoPayload.self) { _, context in
            try await context.step.transaction("stuck") { connection in
                try connection.execute("select pg_sleep(60), 'stuck-sql-marker'::text")
            }
            return NoPayload()
        }
        try await withEngine([function]) { engine in
            let id = try await engine.client.trigger("test/stuck-sql")
            let started = ContinuousClock.now
            let run = try await engine.withWorker { try await engine.wait(for: id, status: "failed", timeout: .seconds(20)) }
            #expect(ContinuousClock.now - started < .seconds(10), "the attempt ended at its timeout, not when pg_sleep(60) returned")
            #expect(run.attempt == 1)
            #expect(try await engine.count("""
                select count(*) from pg_stat_activity where query like '%stuck-sql-marker%' and state = 'active' and pid <> pg_backend_pid()
                """) == 0, "no statement of the timed-out attempt still runs")
        }
    }

    @Test("a durable sleep puts the run back in the queue and resumes after it, on a new worker too")
    func durableSleep() async throws {
        try await withEngine(Builtins.all) { engine in
            let id = try await engine.client.trigger("nightshift/diagnostics", payloadJSON: #"{"steps": 2, "sleep_ms": 1500}"#)
            // The first worker runs step 1 and goes to sleep, then stops (a restart).
            try await engine.withWorker(workerID: "before-restart") {
                try await wait(until: { try await engine.count("select count(*) from nightshift.steps where run_id = \(id) and name = 'pause'") == 1 })
            }
            let sleeping = try await engine.client.run(id)
            #expect(sleeping?.status == "queued")
            let run = try await engine.withWorker(workerID: "after-restart") { try await engine.wait(for: id, status: "completed") }
            #expect(try await engine.count("select count(*) from nightshift.diagnostic_effects where run_id = \(id)") == 2)
            let slept = try await engine.database.query("""
                select extract(epoch from (select completed_at from nightshift.steps where run_id = \(id) and name = 'step-2')
                                         - (select completed_at from nightshift.steps where run_id = \(id) and name = 'step-1'))::float8
                """)[0].decode(Double.self, at: 0)
            #expect(slept >= 1.45, "step 2 finished \(slept) s after step 1")
            #expect(run.attempt == 1)
        }
    }

    @Test("sendEvent in a step is sent once per run, even when the run is retried")
    func sendEventOnce() async throws {
        let producer = NightshiftFunction(id: "test/producer", retries: 1, backoff: .exponential(base: .milliseconds(50)), payload: NoPayload.self) { _, context in
            try await context.step.sendEvent("test.produced", ["n": 1])
            if context.attempt == 1 { throw URLError(.timedOut) }
            return NoPayload()
        }
        let consumer = NightshiftFunction(id: "test/consumer", triggers: [.event("test.produced")], payload: NoPayload.self) { _, _ in NoPayload() }
        try await withEngine([producer, consumer]) { engine in
            let id = try await engine.client.trigger("test/producer")
            try await engine.withWorker {
                try await engine.wait(for: id, status: "completed")
                try await wait(until: { try await engine.count("select count(*) from nightshift.runs where function_id = 'test/consumer' and status = 'completed'") == 1 })
            }
            #expect(try await engine.count("select count(*) from nightshift.events where name = 'test.produced'") == 1)
            #expect(try await engine.count("select count(*) from nightshift.runs where function_id = 'test/consumer'") == 1)
        }
    }
}

/// Collects onFailure calls.
actor AlertLog {
    var messages: [String] = []
    func record(_ message: String) { messages.append(message) }
}

/// Polls `condition` until it holds, failing the test after `timeout`.
func wait(until condition: () async throws -> Bool, timeout: Duration = .seconds(20)) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("condition not met within \(timeout)")
    throw HarnessTimeout()
}
