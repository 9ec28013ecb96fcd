import Engine
import Foundation
import Hummingbird
import Metrics
import HummingbirdTesting
import Postgres
import Prometheus
import TestSupport
import Testing

@Suite("engine over HTTP: /api/v1 for the service role")
struct EngineRoutesTests {
    /// A migrated database with the built-in functions declared.
    func withDeclaredDatabase(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
        try await TestDatabase.withMigratedDatabase { url async throws in
            let pool = PostgresPool(configuration: PostgresConfiguration(url: url), maxConnections: 1)
            try await FunctionRegistry(Builtins.all).sync(to: pool)
            await pool.close()
            try await body(url)
        }
    }

    @Test("trigger a run (202 with its id), read it back with steps, list functions, send an event")
    func serviceRoleFlow() async throws {
        let service = try await token(role: "service_role")
        try await withDeclaredDatabase { url in
            try await withServer(databaseURL: url) { client async throws in
                let queued = try await client.post("/api/v1/functions/nightshift/diagnostics/runs", token: service,
                                                   body: #"{"payload": {"steps": 1}, "idempotency_key": "once"}"#)
                #expect(queued.status == .accepted)
                #expect(queued.data?["status"] as? String == "queued")
                let runID = try #require(queued.data?["run_id"] as? String)
                let again = try await client.post("/api/v1/functions/nightshift/diagnostics/runs", token: service,
                                                  body: #"{"payload": {"steps": 1}, "idempotency_key": "once"}"#)
                #expect(again.data?["run_id"] as? String == runID)

                let run = try await client.get("/api/v1/runs/\(runID)", token: service)
                #expect(run.status == .ok)
                #expect(run.data?["function_id"] as? String == "nightshift/diagnostics")
                #expect((run.data?["payload"] as? [String: Any])?["steps"] as? Int == 1)
                #expect(run.data?["steps"] is [Any])

                let functions = try await client.execute(uri: "/api/v1/functions", method: .get, headers: [.authorization: "Bearer \(service)"]) {
                    try JSONSerialization.jsonObject(with: Data(buffer: $0.body)) as? [String: Any]
                }
                let ids = (functions?["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
                #expect(ids == ["nightshift/diagnostics", "nightshift/noop"])

                let event = try await client.post("/api/v1/events", token: service, body: #"{"name": "nobody.listens", "data": {"a": 1}}"#)
                #expect(event.status == .accepted)
                #expect(event.data?["event_id"] is String)
            }
        }
    }

    @Test("no token 401, a user token 403, an unknown function 404, a bad run id 400, an unknown run 404")
    func refusals() async throws {
        let service = try await token(role: "service_role")
        let user = try await token(role: "authenticated", sub: "u1")
        try await withDeclaredDatabase { url in
            try await withServer(databaseURL: url) { client async throws in
                #expect(try await client.post("/api/v1/functions/nightshift/noop/runs", body: "{}").status == .unauthorized)
                let forbidden = try await client.post("/api/v1/functions/nightshift/noop/runs", token: user, body: "{}")
                #expect(forbidden.status == .forbidden)
                let unknown = try await client.post("/api/v1/functions/no/such/runs", token: service, body: "{}")
                #expect(unknown.status == .notFound)
                #expect(unknown.errorMessage == #"unknown function "no/such""#)
                let payload = try await client.post("/api/v1/functions/nightshift/noop/runs", token: service, body: #"{"payload": [1]}"#)
                #expect(payload.status == .badRequest)
                #expect(try await client.get("/api/v1/runs/not-a-uuid", token: service).status == .badRequest)
                #expect(try await client.get("/api/v1/runs/\(UUID())", token: service).status == .notFound)
                #expect(try await client.get("/api/v1/functions", token: user).status == .forbidden)
            }
        }
    }

    @Test("GET /metrics renders Prometheus text for the service role only")
    func metrics() async throws {
        let service = try await token(role: "service_role")
        let registry = PrometheusCollectorRegistry()
        // The same path the engine's counters take: swift-metrics through the Prometheus factory.
        Counter(label: "nightshift_runs_total", dimensions: [("function", "x"), ("outcome", "completed")],
                factory: PrometheusMetricsFactory(registry: registry)).increment()
        try await withServer(metrics: registry) { client async throws in
            let text = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(service)"]) {
                String(buffer: $0.body)
            }
            #expect(text.contains(#"nightshift_runs_total{function="x",outcome="completed"} 1"#))
            #expect(try await client.get("/metrics").status == .unauthorized)
        }
    }

    @Test("GET /metrics counts the runs the database ended itself (retired functions), once each")
    func outcomeCounts() async throws {
        let service = try await token(role: "service_role")
        let registry = PrometheusCollectorRegistry()
        try await TestDatabase.withMigratedDatabase { url async throws in
            let pool = PostgresPool(configuration: PostgresConfiguration(url: url), maxConnections: 1)
            try await pool.execute("select nightshift.sync_functions('[{\"id\": \"tests/gone\"}]')")
            for _ in 0..<3 { try await pool.execute("select nightshift.trigger('tests/gone')") }
            // The function is retired, its grace period is over: the next tick fails its runs.
            try await pool.execute("select nightshift.sync_functions('[]')")
            try await pool.execute("select nightshift.configure(retired_grace => '0 seconds')")
            try await pool.execute("update nightshift.maintenance set last_run_at = '-infinity'")
            try await pool.execute("select nightshift.tick()")
            #expect(try await pool.query("select count(*)::int from nightshift.runs where status = 'failed' and error->>'outcome' = 'retired'")[0]
                .decode(Int.self, at: 0) == 3)
            try await withServer(databaseURL: url, metrics: registry) { client async throws in
                for _ in 0..<2 {
                    let text = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(service)"]) {
                        String(buffer: $0.body)
                    }
                    // Counted on the first scrape, and not again on the second.
                    #expect(text.contains(#"nightshift_runs_total{function="tests/gone",outcome="retired"} 3"#), "\(text)")
                }
            }
            await pool.close()
        }
    }
}
