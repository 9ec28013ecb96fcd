import Foundation
import Hummingbird

// This file alone imports Hummingbird: the rest of the tests never see its HTTP types.

/// A webhook receiver on 127.0.0.1, started once for the test run. `POST /hooks/KEY?failures=N&status=S&delayMs=D&bodyBytes=B`
/// waits D ms, answers S (default 503) to the first N requests for KEY and 204 afterwards, and records every request.
/// With B > 0 every answer streams a B-byte body (no Content-Length), and a success is 200.
enum Receiver {
    /// One request as the receiver saw it.
    struct Received: Sendable {
        let idempotencyKey: String?
        let contentType: String?
        let webhookID: String?
        let webhookTimestamp: String?
        let webhookSignature: String?
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

    /// `http://127.0.0.1:PORT/hooks/KEY?failures=N&status=S&delayMs=D&bodyBytes=B`.
    static func url(key: String, failures: Int = 0, status: Int = 503, delayMs: Int = 0, bodyBytes: Int = 0) async throws -> String {
        "http://127.0.0.1:\(try await port.value)/hooks/\(key)?failures=\(failures)&status=\(status)&delayMs=\(delayMs)&bodyBytes=\(bodyBytes)"
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
                webhookID: request.headers[HTTPFields.Element.Name("webhook-id")!],
                webhookTimestamp: request.headers[HTTPFields.Element.Name("webhook-timestamp")!],
                webhookSignature: request.headers[HTTPFields.Element.Name("webhook-signature")!],
                body: String(buffer: body)))
            let bodyBytes = request.uri.queryParameters.get("bodyBytes", as: Int.self) ?? 0
            if hit <= failures {
                let error = "{\"error\":\"receiver says \(status)\"}"
                if bodyBytes > 0 { return streamed(status: status, prefix: error, count: bodyBytes) }
                return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(string: error)))
            }
            if bodyBytes > 0 { return streamed(status: 200, prefix: "", count: bodyBytes) }
            return Response(status: .noContent)
        }
        return router
    }

    /// `prefix` and then padding up to `count` bytes, chunked: no Content-Length warns the client
    /// up front, so only its running count can stop reading. A client that hangs up ends the stream.
    private static func streamed(status: Int, prefix: String, count: Int) -> Response {
        Response(status: .init(code: status), body: ResponseBody { writer in
            try await writer.write(ByteBuffer(string: prefix))
            var left = count - prefix.utf8.count
            while left > 0 {
                let chunk = min(left, 16 * 1024)
                try await writer.write(ByteBuffer(repeating: UInt8(ascii: "x"), count: chunk))
                left -= chunk
            }
            try await writer.finish(nil)
        })
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
