import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

// This file alone imports Hummingbird, so its HTTP types stay out of the other test files.

/// A loopback OTLP/HTTP collector: answers `POST /v1/traces` as a collector does (200, an empty
/// protobuf `ExportTraceServiceResponse`) and keeps every request it was sent.
final class OTLPReceiver: Sendable {
    struct Export: Sendable {
        let path: String
        let contentType: String?
        let body: [UInt8]
    }

    private let received = Mutex<[Export]>([])

    /// What was posted so far, in order.
    var exports: [Export] { received.withLock { $0 } }

    /// Serves on 127.0.0.1 (a port of the system's choosing) while `body` runs; `body` gets the
    /// base endpoint, `http://127.0.0.1:PORT`, as `OTEL_EXPORTER_OTLP_ENDPOINT` would name it.
    static func withReceiver<T: Sendable>(_ body: (String, OTLPReceiver) async throws -> T) async throws -> T {
        let receiver = OTLPReceiver()
        let router = Router()
        router.post("v1/traces") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 16 << 20)
            receiver.received.withLock {
                $0.append(Export(path: request.uri.path, contentType: request.headers[.contentType], body: Array(bytes.readableBytesView)))
            }
            return Response(status: .ok, headers: [.contentType: "application/x-protobuf"], body: ResponseBody())
        }
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portSink.yield(channel.localAddress?.port ?? 0) })
        // Stopped by a graceful shutdown rather than cancellation, which Hummingbird logs as an error.
        let server = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "otlp-receiver")))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await server.run(); return nil }
            var port = 0
            for await bound in ports { port = bound; break }
            do {
                let result = try await body("http://127.0.0.1:\(port)", receiver)
                await server.triggerGracefulShutdown()
                return result
            } catch {
                await server.triggerGracefulShutdown()
                throw error
            }
        }
    }
}
