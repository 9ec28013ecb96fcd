import Metrics
import Postgres

/// The engine's swift-metrics instruments; exported at `GET /metrics` when a Prometheus
/// factory is bootstrapped, free no-ops otherwise.
public struct EngineMetrics: Sendable {
    /// Where the instruments are created: the process's bootstrapped metrics system unless
    /// given (the `/metrics` route passes its own registry's factory).
    let factory: (any MetricsFactory)?

    /// Records to `factory`, or to the process's bootstrapped `MetricsSystem` when nil (the default),
    /// so code that records needs no registry at hand.
    public init(factory: (any MetricsFactory)? = nil) {
        self.factory = factory
    }

    private var metricsFactory: any MetricsFactory { factory ?? MetricsSystem.factory }

    private func timer(_ label: String, functionID: String) -> Timer {
        Timer(label: label, dimensions: [("function", functionID)], preferredDisplayUnit: .seconds, factory: metricsFactory)
    }

    func runFinished(functionID: String, outcome: String, duration: Duration) {
        Counter(label: "nightshift_runs_total", dimensions: [("function", functionID), ("outcome", outcome)], factory: metricsFactory)
            .increment()
        timer("nightshift_run_duration_seconds", functionID: functionID).recordNanoseconds(duration.nanoseconds)
    }

    func stepFinished(functionID: String, duration: Duration) {
        timer("nightshift_step_duration_seconds", functionID: functionID).recordNanoseconds(duration.nanoseconds)
    }

    func pickedUp(functionID: String, latency: Double) {
        timer("nightshift_pickup_latency_seconds", functionID: functionID).recordNanoseconds(Int64(max(0, latency) * 1e9))
    }

    func queueDepth(functionID: String, queued: Int, running: Int, retired: Int) {
        // retired: runs of a retired function waiting out the grace period before tick fails them.
        for (status, count) in [("queued", queued), ("running", running), ("retired", retired)] {
            Gauge(label: "nightshift_queue_depth", dimensions: [("function", functionID), ("status", status)], factory: metricsFactory).record(count)
        }
    }

    /// Adds the runs the database ended on its own since the last call (runs of retired
    /// functions failed by `tick()`, whoever ticked: the Swift ticker or pg_cron) to
    /// `nightshift_runs_total`. The database hands each count out once, so only the process
    /// that exports metrics may take them: `serve` does, on every scrape of `/metrics`.
    public func collectOutcomeCounts(from database: some PostgresQuerying) async throws {
        for row in try await database.query("select function_id, outcome, runs from nightshift.collect_outcome_counts()") {
            let (function, outcome, runs) = try row.decode(String.self, String.self, Int.self)
            Counter(label: "nightshift_runs_total", dimensions: [("function", function), ("outcome", outcome)], factory: metricsFactory)
                .increment(by: runs)
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
