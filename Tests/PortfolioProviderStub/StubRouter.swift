import Foundation
import Hummingbird

/// The stub's routes: the two provider endpoints, and `/_stub/...` switches for the demo script.
enum StubRouter {
    static func make(_ controls: StubControls) -> Router<BasicRequestContext> {
        let router = Router()
        // Frankfurter: an unknown base is a 404 with a message, as the real service answers.
        router.get("latest") { request, _ -> Response in
            let base = request.uri.queryParameters.get("base") ?? "EUR"
            return try await answer(controls, .rates, base: base) {
                guard let body = StubData.ratesBody(base: base) else {
                    return json(.notFound, "{\"message\":\"not found\"}")
                }
                return json(.ok, body)
            }
        }
        router.get("prices") { request, _ -> Response in
            let list = request.uri.queryParameters.get("symbols") ?? ""
            let symbols = list.split(separator: ",", omittingEmptySubsequences: true).map(String.init)
            return try await answer(controls, .prices, symbols: symbols) {
                guard !symbols.isEmpty else { return json(.badRequest, "{\"message\":\"symbols is required\"}") }
                guard symbols.count <= 100 else { return json(.badRequest, "{\"message\":\"at most 100 symbols per request\"}") }
                return json(.ok, StubData.pricesBody(symbols: symbols))
            }
        }
        // POST /_stub/down?endpoint=rates&on=true, /_stub/fail?endpoint=prices&count=2&status=429&retryAfter=1,
        // /_stub/delay?ms=N, /_stub/reset; GET /_stub/counts → {"rates": n, "prices": m}.
        router.post("_stub/down") { request, _ -> Response in
            let endpoint = try endpoint(request)
            controls.setDown(endpoint, request.uri.queryParameters.get("on") != "false")
            return Response(status: .noContent)
        }
        router.post("_stub/fail") { request, _ -> Response in
            let query = request.uri.queryParameters
            controls.failNext(
                query.get("count", as: Int.self) ?? 1, on: try endpoint(request),
                status: query.get("status", as: Int.self) ?? 503, retryAfter: query.get("retryAfter", as: Int.self))
            return Response(status: .noContent)
        }
        router.post("_stub/delay") { request, _ -> Response in
            controls.delay = .milliseconds(request.uri.queryParameters.get("ms", as: Int.self) ?? 0)
            return Response(status: .noContent)
        }
        router.post("_stub/reset") { _, _ -> Response in
            controls.reset()
            return Response(status: .noContent)
        }
        router.get("_stub/counts") { _, _ -> Response in
            json(.ok, "{\"rates\":\(controls.requests(.rates)),\"prices\":\(controls.requests(.prices))}")
        }
        return router
    }

    /// Counts the request, then fails it as planned or answers with `body()` after the delay.
    private static func answer(
        _ controls: StubControls, _ endpoint: StubEndpoint, symbols: [String]? = nil, base: String? = nil,
        _ body: () -> Response
    ) async throws -> Response {
        let arrival = controls.arrive(endpoint, symbols: symbols, base: base)
        defer { controls.leave() }
        if arrival.delay > .zero { try await Task.sleep(for: arrival.delay) }
        if let failure = arrival.failure {
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            if let retryAfter = failure.retryAfter { headers[.retryAfter] = String(retryAfter) }
            return Response(
                status: .init(code: failure.status), headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: "{\"message\":\"stub fails with \(failure.status)\"}")))
        }
        return arrival.body.map { json(.ok, $0) } ?? body()
    }

    private static func endpoint(_ request: Request) throws -> StubEndpoint {
        guard let name = request.uri.queryParameters.get("endpoint"), let endpoint = StubEndpoint(rawValue: name) else {
            throw HTTPError(.badRequest, message: "endpoint must be rates or prices")
        }
        return endpoint
    }

    private static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
