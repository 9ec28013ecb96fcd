import Foundation
import Postgres
import Testing

@testable import Engine

@Suite("triggers, events, concurrency, cancel and rerun", .serialized)
struct TriggerTests {
    static let quick = NightshiftFunction(id: "test/quick", triggers: [.event("test.ping")], payload: NoPayload.self) { _, _ in NoPayload() }
    static let other = NightshiftFunction(id: "test/other", triggers: [.event("test.ping")], payload: NoPayload.self) { _, _ in NoPayload() }

    @Test("an event fans out to every subscriber once; the same idempotency key never fans out twice")
    func eventFanOut() async throws {
        try await withEngine([Self.quick, Self.other]) { engine in
            let first = try await engine.client.sendEvent("test.ping", dataJSON: #"{"n": 1}"#, idempotencyKey: "ping-1")
            let again = try await engine.client.sendEvent("test.ping", dataJSON: #"{"n": 1}"#, idempotencyKey: "ping-1")
            #expect(first == again)
            _ = try await engine.client.sendEvent("test.nobody-listens")
            try await engine.withWorker {
                try await wait(until: { try await engine.count("select count(*) from nightshift.runs where status = 'completed'") == 2 })
            }
            #expect(try await engine.count("select count(*) from nightshift.runs") == 2)
            #expect(try await engine.count("select count(*) from nightshift.runs where trigger_kind = 'event' and payload = '{\"n\": 1}'") == 2)
            #expect(try await engine.count("select count(*) from nightshift.events") == 2)
        }
    }

    @Test("a manual trigger with an idempotency key returns the existing run; an unknown function is named")
    func manualTrigger() async throws {
        try await withEngine([Self.quick]) { engine in
            let a = try await engine.client.trigger("test/quick", idempotencyKey: "k")
            let b = try await engine.client.trigger("test/quick", idempotencyKey: "k")
            #expect(a == b)
            await #expect { try await engine.client.trigger("test/missing") } throws: { error in
                (error as? PostgresError)?.message.contains("test/missing") == true
            }
        }
    }

    @Test("a singleton never runs twice at once, even with two workers contending")
    func singletonUnderContention() async throws {
        let singleton = NightshiftFunction(id: "test/singleton", concurrency: .singleton, payload: NoPayload.self) { _, context in
            try await context.database.execute("insert into spans (run_id, started_at) values (\(context.runID), clock_timestamp())")
            try await Task.sleep(for: .milliseconds(150))
            try await context.database.execute("update spans set finished_at = clock_timestamp() where run_id = \(context.runID)")
            return NoPayload()
        }
        try await withEngine([singleton]) { engine in
            try await engine.database.execute("create table spans (run_id uuid primary key, started_at timestamptz, finished_at timestamptz)")
            for _ in 0..<6 { _ = try await engine.client.trigger("test/singleton") }
            try await engine.withWorker(workerID: "a") {
                try await engine.withWorker(workerID: "b") {
                    try await wait(until: { try await engine.count("select count(*) from nightshift.runs where status = 'completed'") == 6 })
                }
            }
            let overlaps = try await engine.count("""
                select count(*) from spans x join spans y on x.run_id < y.run_id
                where x.started_at < y.finished_at and y.started_at < x.finished_at
                """)
            #expect(overlaps == 0)
            #expect(try await engine.count("select count(distinct lease_owner) from nightshift.runs") >= 1)
        }
    }

    @Test("a concurrency limit per payload key lets two of each key run at once, no more")
    func concurrencyPerKey() async throws {
        let limited = NightshiftFunction(id: "test/limited", concurrency: .limit(2, key: "tenant"), payload: [String: String].self) { payload, context in
            try await context.database.execute("insert into spans values (\(context.runID), \(payload["tenant"] ?? ""), clock_timestamp(), null)")
            try await Task.sleep(for: .milliseconds(150))
            try await context.database.execute("update spans set finished_at = clock_timestamp() where run_id = \(context.runID)")
            return NoPayload()
        }
        try await withEngine([limited]) { engine in
            try await engine.database.execute("create table spans (run_id uuid primary key, tenant text, started_at timestamptz, finished_at timestamptz)")
            for tenant in ["a", "a", "a", "a", "b", "b", "b"] {
                _ = try await engine.client.trigger("test/limited", payloadJSON: #"{"tenant": "\#(tenant)"}"#)
            }
            try await engine.withWorker(concurrency: 10) {
                try await wait(until: { try await engine.count("select count(*) from nightshift.runs where status = 'completed'") == 7 })
            }
            // The most runs of one tenant overlapping any moment (a run's start is such a moment).
            let peak = try await engine.count("""
                select max(c)::int from (
                  select (select count(*) from spans y where y.tenant = x.tenant and y.started_at <= x.started_at and y.finished_at > x.started_at) c
                  from spans x) t
                """)
            #expect(peak == 2)
        }
    }

    @Test("a cancelled queued run never runs; a rerun runs again with the same payload")
    func cancelAndRerun() async throws {
        try await withEngine(Builtins.all) { engine in
            let cancelled = try await engine.client.trigger("nightshift/diagnostics", payloadJSON: #"{"steps": 1}"#)
            #expect(try await engine.client.cancel(cancelled))
            let done = try await engine.client.trigger("nightshift/diagnostics", payloadJSON: #"{"steps": 1}"#)
            try await engine.withWorker {
                try await engine.wait(for: done, status: "completed")
                let again = try await engine.client.rerun(done)
                let rerun = try await engine.wait(for: again, status: "completed")
                #expect(rerun.trigger == "rerun")
                #expect(rerun.payload == (try await engine.client.run(done))?.payload)
            }
            #expect(try await engine.client.run(cancelled)?.status == "cancelled")
            #expect(try await engine.count("select count(*) from nightshift.diagnostic_effects where run_id = \(cancelled)") == 0)
            #expect(try await engine.client.cancel(done) == false)
        }
    }
}
