import Metrics
import Prometheus

/// Sets up swift-metrics once for the process, backed by a Prometheus registry that
/// `GET /metrics` renders.
public enum MetricsSetup {
    /// Bootstraps the global metrics system and returns the registry to export.
    public static func bootstrapPrometheus() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}
