import Hummingbird
import Prometheus

/// `GET /metrics`: the Prometheus text format, for the service role (a scraper sends it as a
/// bearer token), so run counts and function names are not public.
struct MetricsRoutes<Context: RequestContext>: Sendable {
    let registry: PrometheusCollectorRegistry
    let authenticator: Authenticator

    func addRoutes(to router: Router<Context>) {
        router.get("/metrics") { request, _ in
            _ = try await authenticator.require([.serviceRole], for: request)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }
}
