import Logging
import Testing

@testable import Observability

@Suite("trace export settings")
struct TraceExportTests {
    func resolve(_ endpoint: String? = nil, _ environment: [String: String] = [:]) throws -> TraceExport? {
        try TraceExport.resolve(otlpEndpoint: endpoint, serviceVersion: "9.9.9", environment: environment)
    }

    @Test("no endpoint anywhere: no export, whatever else OTEL_* says")
    func noEndpoint() throws {
        #expect(try resolve() == nil)
        #expect(try resolve("", ["OTEL_EXPORTER_OTLP_ENDPOINT": " "]) == nil, "empty counts as unset")
        // A protocol this build cannot export with does not matter while nothing is exported.
        #expect(try resolve(nil, ["OTEL_SERVICE_NAME": "x", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_BSP_SCHEDULE_DELAY": "1"]) == nil)
    }

    @Test("no endpoint: bootstrap creates no exporter and returns no service")
    func noEndpointNoService() throws {
        let service = try TracingSetup.bootstrap(
            otlpEndpoint: nil, serviceVersion: "9.9.9", logger: Logger(label: "test"),
            environment: ["OTEL_SERVICE_NAME": "x", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"])
        #expect(service == nil)
    }

    @Test("the base endpoint gets /v1/traces; the traces endpoint is used as-is and wins")
    func endpoints() throws {
        #expect(try resolve("http://c.test:4318")?.tracesURL == "http://c.test:4318/v1/traces")
        #expect(try resolve("http://c.test:4318/")?.tracesURL == "http://c.test:4318/v1/traces")
        #expect(try resolve("http://c.test:4318/otlp")?.tracesURL == "http://c.test:4318/otlp/v1/traces")
        #expect(try resolve(nil, ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://env.test:4318"])?.tracesURL == "http://env.test:4318/v1/traces")
        #expect(try resolve("http://file.test:4318", ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://env.test:4318"])?.tracesURL
            == "http://env.test:4318/v1/traces", "the environment overrides the file")
        #expect(try resolve("http://file.test:4318", ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://t.test/custom"])?.tracesURL
            == "https://t.test/custom")
    }

    @Test("service name nightshift unless OTEL_SERVICE_NAME; the version as given; protobuf by default")
    func resource() throws {
        let export = try #require(try resolve("http://c.test:4318"))
        #expect(export.serviceName == "nightshift")
        #expect(export.serviceVersion == "9.9.9")
        #expect(export.encoding == .protobuf)
        #expect(try resolve("http://c.test:4318", ["OTEL_SERVICE_NAME": "ns-eu"])?.serviceName == "ns-eu")
        #expect(try resolve("http://c.test:4318", ["OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"])?.encoding == .json)
    }

    @Test("OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn export off")
    func switchedOff() throws {
        #expect(try resolve("http://c.test:4318", ["OTEL_SDK_DISABLED": "TRUE"]) == nil)
        #expect(try resolve("http://c.test:4318", ["OTEL_TRACES_EXPORTER": "none"]) == nil)
        #expect(try resolve("http://c.test:4318", ["OTEL_SDK_DISABLED": "false"]) != nil)
    }

    @Test("settings this build cannot honour are refused by name", arguments: [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318"),
    ])
    func refused(name: String, value: String) {
        let error = #expect(throws: TracingSetupError.self) { try resolve("http://c.test:4318", [name: value]) }
        #expect(error?.description.contains(value) == true, "\(String(describing: error))")
    }

    @Test("only the variables TraceExport did not decide reach swift-otel")
    func passedThrough() {
        let passed = TracingSetup.passedThrough([
            "OTEL_SDK_DISABLED": "false", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_EXPORTER_OTLP_HEADERS": "a=b", "PATH": "/bin",
        ])
        #expect(passed == ["OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_EXPORTER_OTLP_HEADERS": "a=b", "PATH": "/bin"])
    }
}
