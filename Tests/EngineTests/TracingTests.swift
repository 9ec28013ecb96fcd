import Foundation
import InMemoryTracing
import TestSupport
import Testing
import Tracing

@testable import Engine

/// The process's tracer for the tests: bootstrapped once, spans kept in memory. (The OTLP
/// exporter is checked in a `nightshift worker` child process instead: see OTLPExportTests.)
enum TestTracer {
    static var shared: InMemoryTracer { InMemoryTestTracer.shared }

    /// The finished span of run `id` named `operation` (a run has one per attempt).
    static func runSpans(_ id: UUID, operation: String) -> [FinishedInMemorySpan] {
        shared.finishedSpans.filter {
            $0.operationName == operation
                && $0.attributes["nightshift.run_id"]?.toSpanAttribute() == .string(id.uuidString.lowercased())
        }
    }
}

@Suite("tracing")
struct TracingTests {
    @Test("a run is a span carrying its ids, with a child span per executed step")
    func runAndStepSpans() async throws {
        let tracer = TestTracer.shared
        let function = NightshiftFunction(id: "test/traced", payload: NoPayload.self) { _, context in
            try await context.step.run("first") { 1 }
            try await context.step.run("second") { 2 }
            return NoPayload()
        }
        try await withEngine([function]) { engine in
            let id = try await engine.client.trigger("test/traced")
            let record = try await engine.withWorker { try await engine.wait(for: id, status: "completed") }
            let run = try #require(TestTracer.runSpans(id, operation: "run test/traced").first)
            #expect(run.attributes["nightshift.function_id"]?.toSpanAttribute() == .string("test/traced"))
            #expect(run.attributes["nightshift.correlation_id"]?.toSpanAttribute() == .string(record.correlationID.uuidString.lowercased()))
            #expect(run.attributes["nightshift.attempt"]?.toSpanAttribute() == .int64(1))
            #expect(run.status?.code != .error)
            #expect(run.errors.isEmpty)
            let steps = tracer.finishedSpans.filter { $0.parentSpanID == run.spanContext.spanID }
            #expect(steps.map(\.operationName).sorted() == ["step first", "step second"])
            #expect(steps.allSatisfy { $0.attributes["nightshift.run_id"]?.toSpanAttribute() == .string(id.uuidString.lowercased()) })
        }
    }

    @Test("a failed attempt's span has status error and records the error; each attempt is a span")
    func failedAttempt() async throws {
        let function = NightshiftFunction(
            id: "test/traced-failure", retries: 1, backoff: .exponential(base: .milliseconds(50)), payload: NoPayload.self
        ) { (_: NoPayload, context: RunContext) async throws -> NoPayload in
            throw NonRetriableError("traced failure on attempt \(context.attempt)")
        }
        try await withEngine([function]) { engine in
            let id = try await engine.client.trigger("test/traced-failure")
            try await engine.withWorker { try await engine.wait(for: id, status: "failed") }
            let spans = TestTracer.runSpans(id, operation: "run test/traced-failure")
            // Non-retriable: one attempt, one span.
            let run = try #require(spans.count == 1 ? spans.first : nil, "\(spans.count) run spans")
            #expect(run.status?.code == .error)
            #expect(run.errors.count == 1)
            #expect(run.errors.first.map { "\($0.error)" } == "traced failure on attempt 1")
        }
    }

    @Test("a durable sleep ends the attempt's span without an error")
    func sleepIsNotAnError() async throws {
        let function = NightshiftFunction(id: "test/traced-sleep", payload: NoPayload.self) { _, context in
            try await context.step.sleep("nap", for: .milliseconds(50))
            return NoPayload()
        }
        try await withEngine([function]) { engine in
            let id = try await engine.client.trigger("test/traced-sleep")
            try await engine.withWorker { try await engine.wait(for: id, status: "completed") }
            let spans = TestTracer.runSpans(id, operation: "run test/traced-sleep")
            // One execution went to sleep, the next one finished the run.
            #expect(spans.count == 2)
            let suspended = try #require(spans.first { $0.attributes["nightshift.suspended"]?.toSpanAttribute() == .bool(true) })
            #expect(suspended.status?.code != .error)
            #expect(suspended.errors.isEmpty)
            #expect(spans.allSatisfy { $0.status?.code != .error })
        }
    }
}
