import Foundation
import Hummingbird

// This file alone imports Hummingbird: its `HTTPRequest`/`HTTPResponse` would clash with HTTPClient's.

/// A Hummingbird server on 127.0.0.1, started once for the whole test run, with routes that misbehave on request.
enum TestServer {
    /// The server's port; the server runs until the test process exits.
    private static let port = Task<Int, any Error> {
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portSink.yield(channel.localAddress?.port ?? 0) }
        )
        Task { try await app.run() }
        for await port in ports { return port }
        throw CancellationError()
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    static func url(_ path: String) async throws -> String {
        "http://127.0.0.1:\(try await port.value)\(path)"
    }

    /// How many times `/flaky/KEY` was requested.
    static func hits(_ key: String) async -> Int {
        await counter.count(key)
    }

    private static let counter = HitCounter()

    private static func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("echo", method: method) { request, _ in try await echo(request) }
        }
        // /status/CODE?pad=N&retryAfter=S: that status, a JSON error body padded with N bytes.
        router.get("status/:code") { request, context in
            let code = try context.parameters.require("code", as: Int.self)
            let pad = request.uri.queryParameters.get("pad", as: Int.self) ?? 0
            var headers = HTTPFields()
            if let retryAfter = request.uri.queryParameters.get("retryAfter") { headers[.retryAfter] = retryAfter }
            let body = "{\"error\":\"status \(code)\"}" + String(repeating: "x", count: pad)
            return Response(status: .init(code: code), headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        // /slow?ms=N: answers after N milliseconds.
        router.get("slow") { request, _ in
            try await Task.sleep(for: .milliseconds(request.uri.queryParameters.get("ms", as: Int.self) ?? 1000))
            return "done"
        }
        // /bytes?count=N: N bytes with a Content-Length.
        router.get("bytes") { request, _ in
            let count = request.uri.queryParameters.get("count", as: Int.self) ?? 0
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: UInt8(ascii: "a"), count: count)))
        }
        // /stream?count=N: N bytes chunked, no Content-Length, so only the client's running count can stop it.
        router.get("stream") { request, _ in
            let count = request.uri.queryParameters.get("count", as: Int.self) ?? 0
            return Response(status: .ok, body: ResponseBody { writer in
                var left = count
                while left > 0 {
                    let chunk = min(left, 1024)
                    try await writer.write(ByteBuffer(repeating: UInt8(ascii: "b"), count: chunk))
                    left -= chunk
                }
                try await writer.finish(nil)
            })
        }
        // /endless: 1 KiB chunks every millisecond until the client hangs up (or 20 s pass), so a
        // client that drained instead of cutting off would run into its own timeout.
        router.get("endless") { _, _ in
            Response(status: .ok, body: ResponseBody { writer in
                let deadline = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < deadline {
                    try await writer.write(ByteBuffer(repeating: UInt8(ascii: "e"), count: 1024))
                    try await Task.sleep(for: .milliseconds(1))
                }
                try await writer.finish(nil)
            })
        }
        // /flaky/KEY?failures=N&status=S: the first N requests get status S, later ones 200.
        router.get("flaky/:key") { request, context in
            let key = try context.parameters.require("key")
            let failures = request.uri.queryParameters.get("failures", as: Int.self) ?? 0
            let status = request.uri.queryParameters.get("status", as: Int.self) ?? 503
            let hit = await counter.increment(key)
            var headers = HTTPFields()
            if let retryAfter = request.uri.queryParameters.get("retryAfter") { headers[.retryAfter] = retryAfter }
            guard hit > failures else {
                return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: "try later")))
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok after \(hit) hits")))
        }
        // /redirect: 302 to /echo.
        router.get("redirect") { _, _ in
            Response(status: .found, headers: [.location: "/echo"])
        }
        return router
    }

    private static func echo(_ request: Request) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
        let echo = Echo(method: request.method.rawValue, headers: headers, body: String(buffer: body))
        var responseHeaders = HTTPFields()
        responseHeaders[.contentType] = "application/json"
        responseHeaders[HTTPFields.Element.Name("X-Echo-Server")!] = "hummingbird"
        let json = try JSONEncoder().encode(echo)
        return Response(status: .ok, headers: responseHeaders, body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }
}

/// Requests per `/flaky` key, so each test can count its own hits.
private actor HitCounter {
    private var hits: [String: Int] = [:]

    func increment(_ key: String) -> Int {
        hits[key, default: 0] += 1
        return hits[key]!
    }

    func count(_ key: String) -> Int {
        hits[key] ?? 0
    }
}
