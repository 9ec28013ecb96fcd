import Foundation
import InMemoryTracing
import Instrumentation
import Testing
import Tracing

@testable import Engine

/// The process's tracer for the tests: bootstrapped once, spans kept in memory.
enum TestTracer {
    static let shared: InMemoryTracer = {
        let tracer = InMemoryTracer()
        InstrumentationSystem.bootstrap(tracer)
        return tracer
    }()
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
            try await engine.withWorker { try await engine.wait(for: id, status: "completed") }
            let spans = tracer.finishedSpans
            let run = try #require(spans.first {
                $0.operationName == "run test/traced" && $0.attributes["nightshift.run_id"]?.toSpanAttribute() == .string(id.uuidString)
            })
            #expect(run.attributes["nightshift.function_id"]?.toSpanAttribute() == .string("test/traced"))
            let steps = spans.filter { $0.parentSpanID == run.spanContext.spanID }.map(\.operationName).sorted()
            #expect(steps == ["step first", "step second"])
        }
    }
}
