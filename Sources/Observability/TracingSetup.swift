import Foundation
import Logging
import OTel
import ServiceLifecycle

/// Sets up trace export once for the process: OTLP/HTTP through swift-otel when an endpoint is
/// configured, otherwise nothing at all, and spans go to swift-distributed-tracing's no-op tracer.
public enum TracingSetup {
    /// Bootstraps the process-global tracer with an OTLP/HTTP exporter and returns the service
    /// that batches and sends the spans; run it in the process's `ServiceGroup`, placed before
    /// the services that make spans, so that it shuts down after them and flushes their last spans.
    ///
    /// Returns `nil`, having bootstrapped nothing and started nothing, when `TraceExport.resolve`
    /// finds no endpoint. Call it at most once per process (the tracing system is bootstrapped once).
    ///
    /// - Parameters:
    ///   - otlpEndpoint: `[observability] otlp_endpoint`; see `TraceExport.resolve`.
    ///   - logger: where swift-otel's own diagnostics go (export failures, for instance).
    public static func bootstrap(
        otlpEndpoint: String?, serviceVersion: String, logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> (any Service)? {
        guard let export = try TraceExport.resolve(
            otlpEndpoint: otlpEndpoint, serviceVersion: serviceVersion, environment: environment)
        else { return nil }
        let service = try OTel.bootstrap(
            configuration: configuration(export, logger: logger),
            environment: passedThrough(environment))
        logger.info("exporting traces", metadata: [
            "url": "\(export.tracesURL)", "protocol": "\(export.encoding.rawValue)",
            "service_name": "\(export.serviceName)",
        ])
        return service
    }

    /// Traces only: logs stay JSON lines on standard error and metrics stay Prometheus, both
    /// bootstrapped elsewhere (a second bootstrap of either would stop the process).
    static func configuration(_ export: TraceExport, logger: Logger) -> OTel.Configuration {
        var configuration = OTel.Configuration.default
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.endpoint = export.tracesURL
        configuration.traces.otlpExporter.protocol = export.encoding == .json ? .httpJSON : .httpProtobuf
        configuration.serviceName = export.serviceName
        configuration.resourceAttributes["service.version"] = export.serviceVersion
        configuration.diagnosticLogger = .custom(logger)
        return configuration
    }

    /// The environment swift-otel still reads (batching, headers, timeouts, TLS files, resource
    /// attributes), without what `TraceExport` already decided: left in, the endpoint variables
    /// would be re-derived by swift-otel, and `OTEL_SDK_DISABLED=false` would switch its logs and
    /// metrics back on.
    static func passedThrough(_ environment: [String: String]) -> [String: String] {
        let decided: Set<String> = [
            "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME",
            "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        ]
        return environment.filter { !decided.contains($0.key) }
    }
}
