import Engine
import Hummingbird
import Postgres
import Prometheus

/// `GET /metrics`: the Prometheus text format, for the service role (a scraper sends it as a
/// bearer token), so run counts and function names are not public.
struct MetricsRoutes<Context: RequestContext>: Sendable {
    let registry: PrometheusCollectorRegistry
    let authenticator: Authenticator
    let database: PostgresPool

    func addRoutes(to router: Router<Context>) {
        router.get("/metrics") { request, _ in
            let principal = try await authenticator.require([.serviceRole], for: request)
            // Runs the database ended itself (retired functions) since the last scrape; a scrape
            // that cannot reach the database still answers with the process's own figures.
            try? await EngineMetrics(factory: PrometheusMetricsFactory(registry: registry)).collectOutcomeCounts(
                from: RequestDatabase(pool: database, principal: principal))
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }
}
