import Foundation
import Hummingbird

// This file alone imports Hummingbird: the rest of the tests never see its HTTP types.

/// A webhook receiver on 127.0.0.1, started once for the test run. `POST /hooks/KEY?failures=N&status=S&delayMs=D`
/// waits D ms, answers S (default 503) to the first N requests for KEY and 204 afterwards, and records every request.
enum Receiver {
    /// One request as the receiver saw it.
    struct Received: Sendable {
        let idempotencyKey: String?
        let contentType: String?
        let body: String
    }

    private static let port = Task<Int, any Error> {
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portSink.yield(channel.localAddress?.port ?? 0) })
        Task { try await app.run() }
        for await port in ports { return port }
        throw CancellationError()
    }

    private static let log = RequestLog()

    /// `http://127.0.0.1:PORT/hooks/KEY?failures=N&status=S&delayMs=D`.
    static func url(key: String, failures: Int = 0, status: Int = 503, delayMs: Int = 0) async throws -> String {
        "http://127.0.0.1:\(try await port.value)/hooks/\(key)?failures=\(failures)&status=\(status)&delayMs=\(delayMs)"
    }

    /// Every request received for `key`, in order.
    static func requests(_ key: String) async -> [Received] {
        await log.requests(key)
    }

    private static func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("hooks/:key") { request, context in
            let key = try context.parameters.require("key")
            let failures = request.uri.queryParameters.get("failures", as: Int.self) ?? 0
            let status = request.uri.queryParameters.get("status", as: Int.self) ?? 503
            try await Task.sleep(for: .milliseconds(request.uri.queryParameters.get("delayMs", as: Int.self) ?? 0))
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let hit = await log.record(key, Received(
                idempotencyKey: request.headers[HTTPFields.Element.Name("Idempotency-Key")!],
                contentType: request.headers[.contentType],
                body: String(buffer: body)))
            if hit <= failures {
                return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"receiver says \(status)\"}")))
            }
            return Response(status: .noContent)
        }
        return router
    }
}

/// Requests per key, so every test reads only its own.
private actor RequestLog {
    private var received: [String: [Receiver.Received]] = [:]

    func record(_ key: String, _ request: Receiver.Received) -> Int {
        received[key, default: []].append(request)
        return received[key]!.count
    }

    func requests(_ key: String) -> [Receiver.Received] {
        received[key] ?? []
    }
}
