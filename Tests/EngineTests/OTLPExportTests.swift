import Foundation
import TestSupport
import Testing

@testable import Engine

/// Trace export end to end: a `nightshift worker` child process (the tracing system is bootstrapped
/// once per process, and this one's holds the in-memory tracer) runs a run and exports to a
/// loopback OTLP/HTTP receiver.
@Suite("OTLP trace export from a nightshift worker")
struct OTLPExportTests {
    enum EndpointSource: String, CaseIterable, Sendable {
        case environment = "OTEL_EXPORTER_OTLP_ENDPOINT"
        case configFile = "[observability] otlp_endpoint"
    }

    @Test("with an endpoint, run and step spans reach the collector as OTLP/HTTP protobuf, flushed at shutdown",
          arguments: EndpointSource.allCases)
    func exportsSpans(source: EndpointSource) async throws {
        try await OTLPReceiver.withReceiver { endpoint, receiver in
            let config = try ConfigFile(observability: source == .configFile ? endpoint : nil)
            defer { config.remove() }
            try await withEngine(Builtins.all) { engine in
                let id = try await engine.client.trigger("nightshift/diagnostics", payloadJSON: #"{"steps": 2}"#)
                var environment = [
                    // Longer than the test: only the flush at shutdown can deliver these spans.
                    "OTEL_BSP_SCHEDULE_DELAY": "600000",
                    "OTEL_SERVICE_NAME": "nightshift-otlp-test",
                ]
                if source == .environment { environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint }
                let worker = try WorkerProcess(databaseURL: engine.url, name: "otlp", config: config.path, environment: environment)
                let run = try await engine.wait(for: id, status: "completed", timeout: .seconds(30))
                #expect(receiver.exports.isEmpty, "spans are batched, not sent one by one")
                await worker.stopAwaitingExit()
                #expect(worker.process.terminationReason == .exit && worker.process.terminationStatus == 0, "\(worker.output)")
                #expect(worker.output.contains(#""url":"\#(endpoint)/v1/traces""#), "the start-up log names the collector")

                let exports = receiver.exports
                try #require(!exports.isEmpty, "the collector received nothing; worker log:\n\(worker.output)")
                for export in exports {
                    #expect(export.path == "/v1/traces")
                    #expect(export.contentType == "application/x-protobuf")
                }
                // Protobuf carries strings as raw UTF-8, so the ids can be found in the bytes.
                let body = exports.flatMap(\.body)
                let expected = [
                    "run nightshift/diagnostics", "step step-1", "step step-2",
                    "nightshift.run_id", id.uuidString.lowercased(),
                    "nightshift.function_id", "nightshift/diagnostics",
                    "nightshift.correlation_id", run.correlationID.uuidString.lowercased(),
                    "nightshift.attempt",
                    "service.name", "nightshift-otlp-test", "service.version",
                ]
                for text in expected {
                    #expect(body.firstRange(of: Array(text.utf8)) != nil, "\"\(text)\" is not in what the collector received")
                }
            }
        }
    }

    @Test("without an endpoint the worker creates no exporter, even with other OTEL_* variables set")
    func noEndpointNoExporter() async throws {
        try await withEngine(Builtins.all) { engine in
            let id = try await engine.client.trigger("nightshift/diagnostics", payloadJSON: #"{"steps": 1}"#)
            let worker = try WorkerProcess(databaseURL: engine.url, name: "no-otlp", environment: [
                "OTEL_SERVICE_NAME": "nightshift-otlp-test", "OTEL_BSP_SCHEDULE_DELAY": "100",
            ])
            try await engine.wait(for: id, status: "completed", timeout: .seconds(30))
            await worker.stopAwaitingExit()
            #expect(worker.process.terminationStatus == 0, "\(worker.output)")
            // Both the project's line and swift-otel's own bootstrap line would say so.
            #expect(!worker.output.contains("exporting traces"))
            #expect(!worker.output.contains("Bootstrapping instrumentation system"))
        }
    }
}

/// The committed config, optionally with `[observability] otlp_endpoint`, in a temporary file.
private struct ConfigFile {
    let path: String

    init(observability endpoint: String?) throws {
        let committed = TestDatabase.projectRoot.appendingPathComponent("supabase-like-config/config.toml")
        var text = try String(contentsOf: committed, encoding: .utf8)
        // The committed file ends with an [observability] table that sets nothing.
        if let endpoint { text += "\notlp_endpoint = \"\(endpoint)\"\n" }
        path = FileManager.default.temporaryDirectory.appendingPathComponent("nightshift-otlp-\(UUID().uuidString.prefix(8)).toml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
