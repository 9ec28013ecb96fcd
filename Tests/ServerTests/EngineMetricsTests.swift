import Prometheus
import Testing

@testable import Engine

@Suite("engine metrics")
struct EngineMetricsTests {
    @Test("every instrument records to the factory it was given, not to the process's metrics system")
    func recordsToItsFactory() {
        let registry = PrometheusCollectorRegistry()
        let metrics = EngineMetrics(factory: PrometheusMetricsFactory(registry: registry))
        metrics.runFinished(functionID: "t/f", outcome: "completed", duration: .milliseconds(5))
        metrics.stepFinished(functionID: "t/f", duration: .milliseconds(2))
        metrics.pickedUp(functionID: "t/f", latency: 0.003)
        metrics.queueDepth(functionID: "t/f", queued: 4, running: 2, retired: 1)
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        #expect(text.contains(#"nightshift_runs_total{function="t/f",outcome="completed"} 1"#), "\(text)")
        #expect(text.contains(#"nightshift_run_duration_seconds_count{function="t/f"} 1"#), "\(text)")
        #expect(text.contains(#"nightshift_step_duration_seconds_count{function="t/f"} 1"#), "\(text)")
        #expect(text.contains(#"nightshift_pickup_latency_seconds_count{function="t/f"} 1"#), "\(text)")
        for (status, count) in [("queued", 4), ("running", 2), ("retired", 1)] {
            #expect(text.contains(#"nightshift_queue_depth{function="t/f",status="\#(status)"} \#(count)"#), "\(text)")
        }
    }
}
