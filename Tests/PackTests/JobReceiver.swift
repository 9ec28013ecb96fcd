import Foundation
import Hummingbird

// This file alone of the declared-job tests imports Hummingbird, so HTTPRequest stays the client's.

/// An endpoint on 127.0.0.1 for HTTP jobs, started once for the test run.
/// `/jobs/KEY?failures=N&status=S` answers S to the first N requests for KEY, then 200 with
/// `{"ok": true, "hit": n}`; `?plain=1` answers 200 with text instead. Every request is recorded.
enum JobReceiver {
    struct Received: Sendable {
        let method: String
        let authorization: String?
        let team: String?
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

    private static let log = JobRequestLog()

    static func url(key: String, failures: Int = 0, status: Int = 503, plain: Bool = false) async throws -> String {
        "http://127.0.0.1:\(try await port.value)/jobs/\(key)?failures=\(failures)&status=\(status)\(plain ? "&plain=1" : "")"
    }

    static func requests(_ key: String) async -> [Received] {
        await log.requests(key)
    }

    private static func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.on("jobs/:key", method: .post, use: handle)
        router.on("jobs/:key", method: .get, use: handle)
        return router
    }

    @Sendable private static func handle(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let key = try context.parameters.require("key")
        let failures = request.uri.queryParameters.get("failures", as: Int.self) ?? 0
        let status = request.uri.queryParameters.get("status", as: Int.self) ?? 503
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        let hit = await log.record(key, Received(
            method: request.method.rawValue,
            authorization: request.headers[.authorization],
            team: request.headers[HTTPFields.Element.Name("X-Team")!],
            body: String(buffer: body)))
        if hit <= failures {
            return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"receiver says \(status)\"}")))
        }
        if request.uri.queryParameters.get("plain") != nil {
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "done")))
        }
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: "{\"ok\":true,\"hit\":\(hit)}")))
    }
}

private actor JobRequestLog {
    private var received: [String: [JobReceiver.Received]] = [:]

    func record(_ key: String, _ request: JobReceiver.Received) -> Int {
        received[key, default: []].append(request)
        return received[key]!.count
    }

    func requests(_ key: String) -> [JobReceiver.Received] {
        received[key] ?? []
    }
}
