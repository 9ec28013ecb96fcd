import Engine
import Hummingbird
import Postgres

/// `GET /health`: 200 when the database answers within a second, 503 when it does not.
struct HealthRoutes<Context: RequestContext>: Sendable {
    let database: PostgresPool
    let projectID: String

    struct Health: Encodable, Sendable {
        let status: String
        let project: String
        let database: String
        let databaseLatencyMs: Double

        enum CodingKeys: String, CodingKey {
            case status, project, database
            case databaseLatencyMs = "database_latency_ms"
        }
    }

    func addRoutes(to router: Router<Context>) {
        router.get("/health") { _, _ in
            try await check()
        }
    }

    private func check() async throws -> Response {
        let clock = ContinuousClock()
        let started = clock.now
        do {
            try await withDeadline(.seconds(1)) {
                // As anon, like every request: the check reaches the database as callers do.
                _ = try await RequestDatabase(pool: database, principal: nil).query("select 1")
            }
        } catch {
            // The cause (host, port, libpq's words) is for the logs, not for whoever asks.
            throw APIError.unavailable("database unreachable")
        }
        let elapsed = clock.now - started
        let milliseconds = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        return JSONResponse.success(
            Health(status: "ok", project: projectID, database: "up", databaseLatencyMs: (milliseconds * 100).rounded() / 100))
    }
}
