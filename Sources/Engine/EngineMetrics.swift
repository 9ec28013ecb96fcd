import Metrics

/// The engine's swift-metrics instruments; exported at `GET /metrics` when a Prometheus
/// factory is bootstrapped, free no-ops otherwise.
public struct EngineMetrics: Sendable {
    public init() {}

    func runFinished(functionID: String, outcome: String, duration: Duration) {
        Counter(label: "nightshift_runs_total", dimensions: [("function", functionID), ("outcome", outcome)]).increment()
        Timer(label: "nightshift_run_duration_seconds", dimensions: [("function", functionID)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(duration.nanoseconds)
    }

    func stepFinished(functionID: String, duration: Duration) {
        Timer(label: "nightshift_step_duration_seconds", dimensions: [("function", functionID)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(duration.nanoseconds)
    }

    func pickedUp(functionID: String, latency: Double) {
        Timer(label: "nightshift_pickup_latency_seconds", dimensions: [("function", functionID)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(max(0, latency) * 1e9))
    }

    func queueDepth(functionID: String, queued: Int, running: Int) {
        Gauge(label: "nightshift_queue_depth", dimensions: [("function", functionID), ("status", "queued")]).record(queued)
        Gauge(label: "nightshift_queue_depth", dimensions: [("function", functionID), ("status", "running")]).record(running)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
