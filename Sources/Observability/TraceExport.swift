import Foundation

/// Where and as whom this process exports its spans, decided from the configured OTLP endpoint
/// and OpenTelemetry's standard variables; `resolve` answers `nil` when nothing asks for export.
///
/// The decision is made here, once, rather than left to swift-otel's own environment reading, so
/// that the URL the start-up log names is the URL the exporter posts to, and so that settings
/// this build cannot honour (gRPC, other exporters) fail with a message instead of a crash.
public struct TraceExport: Sendable, Equatable {
    /// The URL spans are POSTed to: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as-is, else the base
    /// endpoint followed by `v1/traces`, as the OTLP/HTTP specification says.
    public let tracesURL: String
    /// `OTEL_SERVICE_NAME`, else `nightshift`.
    public let serviceName: String
    /// The `service.version` resource attribute: this build's version.
    public let serviceVersion: String
    /// `http/protobuf` (the default) or `http/json`.
    public let encoding: Encoding

    /// How spans are encoded on the wire, from `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` or
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`; gRPC is refused, since this build has no gRPC exporter.
    public enum Encoding: String, Sendable {
        /// Binary protobuf over HTTP, the specification's default and the smaller payload.
        case protobuf = "http/protobuf"
        /// JSON over HTTP, for collectors or proxies that only take JSON.
        case json = "http/json"
    }

    /// The `service.name` when `OTEL_SERVICE_NAME` is not set.
    public static let defaultServiceName = "nightshift"

    /// - Parameters:
    ///   - otlpEndpoint: the base endpoint from the config file (`[observability] otlp_endpoint`);
    ///     `OTEL_EXPORTER_OTLP_ENDPOINT` wins over it.
    ///   - serviceVersion: the `service.version` resource attribute.
    /// - Returns: `nil` when no endpoint is set, or `OTEL_SDK_DISABLED=true`, or `OTEL_TRACES_EXPORTER=none`.
    public static func resolve(
        otlpEndpoint: String?, serviceVersion: String, environment: [String: String]
    ) throws(TracingSetupError) -> TraceExport? {
        func value(_ name: String) -> String? {
            guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return value
        }
        if value("OTEL_SDK_DISABLED")?.lowercased() == "true" { return nil }
        switch value("OTEL_TRACES_EXPORTER")?.lowercased() {
        case nil, "otlp": break
        case "none": return nil
        case let other?:
            throw TracingSetupError("OTEL_TRACES_EXPORTER=\(other): only otlp (or none) is supported")
        }

        let tracesURL: String
        if let url = value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            tracesURL = url
        } else if let base = value("OTEL_EXPORTER_OTLP_ENDPOINT") ?? otlpEndpoint.flatMap({ $0.isEmpty ? nil : $0 }) {
            tracesURL = base.hasSuffix("/") ? base + "v1/traces" : base + "/v1/traces"
        } else {
            return nil
        }
        guard tracesURL.hasPrefix("http://") || tracesURL.hasPrefix("https://") else {
            throw TracingSetupError("OTLP traces endpoint \"\(tracesURL)\" must be an http(s) URL")
        }

        let protocolVariable = value("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") != nil
            ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL"
        let encoding: Encoding
        switch value(protocolVariable) {
        case nil: encoding = .protobuf
        case let name?:
            guard let known = Encoding(rawValue: name) else {
                // swift-otel is built without its gRPC trait, and would stop the process on "grpc".
                throw TracingSetupError("\(protocolVariable)=\(name): this build exports OTLP over HTTP only (http/protobuf or http/json)")
            }
            encoding = known
        }

        return TraceExport(
            tracesURL: tracesURL, serviceName: value("OTEL_SERVICE_NAME") ?? defaultServiceName,
            serviceVersion: serviceVersion, encoding: encoding)
    }
}

/// OpenTelemetry settings this process cannot export with; start-up stops and says which.
public struct TracingSetupError: Error, CustomStringConvertible, Equatable {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
