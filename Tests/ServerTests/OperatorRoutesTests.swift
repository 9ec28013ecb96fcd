import Engine
import Foundation
import Hummingbird
import HummingbirdTesting
import Postgres
import TestSupport
import Testing

@Suite("operator routes: /api/v1/runs for operators, super admins and the service", .serialized)
struct OperatorRoutesTests {
    static let operatorID = "00000000-0000-4000-8000-0000000000b1"
    static let adminID = "00000000-0000-4000-8000-0000000000b2"
    static let strangerID = "00000000-0000-4000-8000-0000000000b3"

    /// A migrated database with the built-in functions declared and `script` run as its owner.
    func withRuns(_ script: String, _ body: @escaping @Sendable (String) async throws -> Void) async throws {
        try await TestDatabase.withMigratedDatabase { url async throws in
            let pool = PostgresPool(configuration: PostgresConfiguration(url: url), maxConnections: 1)
            try await FunctionRegistry(Builtins.all).sync(to: pool)
            await pool.close()
            let owner = try await PostgresConnection.connect(url: url)
            try await owner.executeScript(script)
            await owner.close()
            try await body(url)
        }
    }

    /// Three runs: r1 and r2 enqueued at the same instant (only the id orders them), r3 later.
    static let threeRuns = """
        insert into nightshift.runs (id, function_id, status, max_attempts, trigger_kind, correlation_id, created_at, finished_at) values
            ('00000000-0000-4000-8000-000000000001', 'nightshift/noop', 'queued', 1, 'manual',
             'c0000000-0000-4000-8000-000000000001', '2026-01-01 00:00:00+00', null),
            ('00000000-0000-4000-8000-000000000002', 'nightshift/noop', 'completed', 1, 'manual',
             'c0000000-0000-4000-8000-000000000002', '2026-01-01 00:00:00+00', '2026-01-01 00:01:00+00'),
            ('00000000-0000-4000-8000-000000000003', 'nightshift/diagnostics', 'failed', 1, 'manual',
             'c0000000-0000-4000-8000-000000000002', '2026-01-02 00:00:00+00', '2026-01-02 00:01:00+00');
        insert into nightshift.steps (run_id, name, output, attempt) values ('00000000-0000-4000-8000-000000000002', 'fetch', '{"rows": 3}', 1);
        insert into nightshift.run_attempts (run_id, lease_token, attempt, worker, started_at, finished_at, outcome)
            values ('00000000-0000-4000-8000-000000000002', 7, 1, 'worker-a', '2026-01-01 00:00:10+00', '2026-01-01 00:01:00+00', 'completed');
        """

    static func ids(_ reply: Reply) -> [String] {
        (reply.data?["runs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }

    @Test("an operator lists runs newest first, filters them, pages by next_before, and reads one with steps and attempts")
    func operatorReads() async throws {
        let operatorToken = try await token(role: "authenticated", sub: Self.operatorID, appRole: "operator")
        try await withRuns(Self.threeRuns) { url in
            try await withServer(databaseURL: url) { client async throws in
                let all = try await client.get("/api/v1/runs", token: operatorToken)
                #expect(all.status == .ok)
                #expect(Self.ids(all) == ["00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000002",
                                          "00000000-0000-4000-8000-000000000001"])
                #expect(all.data?["next_before"] is NSNull)

                #expect(Self.ids(try await client.get("/api/v1/runs?function=nightshift/diagnostics", token: operatorToken))
                        == ["00000000-0000-4000-8000-000000000003"])
                #expect(Self.ids(try await client.get("/api/v1/runs?status=queued", token: operatorToken))
                        == ["00000000-0000-4000-8000-000000000001"])
                #expect(Self.ids(try await client.get("/api/v1/runs?trigger=cron", token: operatorToken)) == [])
                #expect(Self.ids(try await client.get("/api/v1/runs?since=2026-01-02T00:00:00Z", token: operatorToken))
                        == ["00000000-0000-4000-8000-000000000003"])
                #expect(Self.ids(try await client.get("/api/v1/runs?until=2026-01-02T00:00:00.000Z", token: operatorToken))
                        == ["00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000001"])
                #expect(Self.ids(try await client.get("/api/v1/runs?id=00000000-0000-4000-8000-000000000001", token: operatorToken))
                        == ["00000000-0000-4000-8000-000000000001"])
                #expect(Self.ids(try await client.get("/api/v1/runs?correlation_id=c0000000-0000-4000-8000-000000000002", token: operatorToken))
                        == ["00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000002"])

                // Pages of one: every run once, in order, across the two with equal created_at.
                var seen: [String] = []
                var before: String? = nil
                for _ in 0..<5 {
                    let page = try await client.get("/api/v1/runs?limit=1" + (before.map { "&before=\($0)" } ?? ""), token: operatorToken)
                    #expect(page.status == .ok)
                    seen += Self.ids(page)
                    before = page.data?["next_before"] as? String
                    if before == nil { break }
                }
                #expect(seen == Self.ids(all))

                let run = try await client.get("/api/v1/runs/00000000-0000-4000-8000-000000000002", token: operatorToken)
                #expect(run.status == .ok)
                #expect(run.data?["status"] as? String == "completed")
                let steps = run.data?["steps"] as? [[String: Any]]
                #expect(steps?.first?["name"] as? String == "fetch")
                let attempts = run.data?["attempts"] as? [[String: Any]]
                #expect(attempts?.count == 1)
                #expect(attempts?.first?["worker"] as? String == "worker-a")
                #expect(attempts?.first?["lease_token"] as? Int == 7)
                #expect(attempts?.first?["outcome"] as? String == "completed")
            }
        }
    }

    @Test("bad query parameters are 400 naming the parameter; an unknown run 404; a bad id 400")
    func badRequests() async throws {
        let service = try await token(role: "service_role")
        try await withRuns(Self.threeRuns) { url in
            try await withServer(databaseURL: url) { client async throws in
                let cases: [(String, String)] = [
                    ("limit=0", "query parameter limit must be an integer from 1 to 200, got \"0\""),
                    ("limit=201", "query parameter limit must be an integer from 1 to 200, got \"201\""),
                    ("limit=ten", "query parameter limit must be an integer from 1 to 200, got \"ten\""),
                    ("since=yesterday", "query parameter since must be an RFC 3339 timestamp such as 2026-12-06T05:00:00Z, got \"yesterday\""),
                    ("until=2026-13-01T00:00:00Z", "query parameter until must be an RFC 3339 timestamp such as 2026-12-06T05:00:00Z, got \"2026-13-01T00:00:00Z\""),
                    ("id=42", "query parameter id must be a UUID, got \"42\""),
                    ("correlation_id=x", "query parameter correlation_id must be a UUID, got \"x\""),
                    ("status=done", "status must be one of queued, running, completed, failed, cancelled, got \"done\""),
                    ("trigger=webhook", "trigger must be one of cron, event, manual, rerun, got \"webhook\""),
                    ("before=yesterday", "before must be a next_before from a previous page, got \"yesterday\""),
                    ("limit=1&limit=2", "query parameter limit is given more than once"),
                    ("colour=red", "unknown query parameter \"colour\"; use before, correlation_id, function, id, limit, since, status, trigger, until"),
                ]
                for (query, message) in cases {
                    let reply = try await client.get("/api/v1/runs?\(query)", token: service)
                    #expect(reply.status == .badRequest, "\(query)")
                    #expect(reply.errorMessage == message, "\(query)")
                }
                #expect(try await client.get("/api/v1/runs/not-a-uuid", token: service).status == .badRequest)
                let unknown = try await client.get("/api/v1/runs/00000000-0000-4000-8000-00000000dead", token: service)
                #expect(unknown.status == .notFound)
                #expect(unknown.errorMessage == #"unknown run "00000000-0000-4000-8000-00000000dead""#)
                #expect(try await client.post("/api/v1/runs/00000000-0000-4000-8000-00000000dead/cancel", token: service).status == .notFound)
                #expect(try await client.post("/api/v1/runs/00000000-0000-4000-8000-00000000dead/rerun", token: service).status == .notFound)
            }
        }
    }

    @Test("an operator's cancel and rerun are 403 and change nothing; a super admin cancels (200, then 409 with the status) and reruns (202)")
    func writes() async throws {
        let operatorToken = try await token(role: "authenticated", sub: Self.operatorID, appRole: "operator")
        let admin = try await token(role: "authenticated", sub: Self.adminID, appRole: "super_admin")
        let stranger = try await token(role: "authenticated", sub: Self.strangerID)
        let anon = try await token(role: "anon")
        let queued = "00000000-0000-4000-8000-000000000001"
        let failed = "00000000-0000-4000-8000-000000000003"
        try await withRuns(Self.threeRuns) { url in
            try await withServer(databaseURL: url) { client async throws in
                for who in [operatorToken, stranger, anon] {
                    #expect(try await client.post("/api/v1/runs/\(queued)/cancel", token: who).status == .forbidden)
                    #expect(try await client.post("/api/v1/runs/\(failed)/rerun", token: who).status == .forbidden)
                }
                #expect(try await client.get("/api/v1/runs", token: stranger).status == .forbidden)
                #expect(try await client.get("/api/v1/runs", token: anon).status == .forbidden)
                #expect(try await client.get("/api/v1/runs", token: nil).status == .unauthorized)
                #expect(try await client.get("/api/v1/runs/\(queued)", token: operatorToken).data?["status"] as? String == "queued")

                let cancelled = try await client.post("/api/v1/runs/\(queued)/cancel", token: admin)
                #expect(cancelled.status == .ok)
                #expect(cancelled.data?["status"] as? String == "cancelled")
                let again = try await client.post("/api/v1/runs/\(queued)/cancel", token: admin)
                #expect(again.status == .conflict)
                #expect((again.json["error"] as? [String: Any])?["status"] as? String == "cancelled")
                #expect(again.errorMessage == #"run "\#(queued)" has already finished: cancelled"#)

                let rerun = try await client.post("/api/v1/runs/\(failed)/rerun", token: admin)
                #expect(rerun.status == .accepted)
                #expect(rerun.data?["rerun_of"] as? String == failed)
                let newID = try #require(rerun.data?["run_id"] as? String)
                let fresh = try await client.get("/api/v1/runs/\(newID)", token: operatorToken)
                #expect(fresh.data?["trigger"] as? String == "rerun")
                #expect(fresh.data?["correlation_id"] as? String == "c0000000-0000-4000-8000-000000000002")
                #expect(Self.ids(try await client.get("/api/v1/runs?trigger=rerun", token: operatorToken)) == [newID])
            }
        }
    }

    @Test("cancel and rerun count against [api] writes_per_minute")
    func rateLimited() async throws {
        let service = try await token(role: "service_role")
        var limitedConfig = try await testConfig()
        limitedConfig.api.writesPerMinute = 1
        let config = limitedConfig
        try await withRuns(Self.threeRuns) { url in
            try await withServer(databaseURL: url, config: config) { client async throws in
                #expect(try await client.post("/api/v1/runs/00000000-0000-4000-8000-000000000003/rerun", token: service).status == .accepted)
                let limited = try await client.post("/api/v1/runs/00000000-0000-4000-8000-000000000001/cancel", token: service)
                #expect(limited.status == .tooManyRequests)
                // Reads are not writes.
                #expect(try await client.get("/api/v1/runs", token: service).status == .ok)
            }
        }
    }
}

@Suite("operator routes: /api/v1/functions", .serialized)
struct OperatorFunctionRoutesTests {
    @Test("operators list functions with kind and state; super admins disable one (PATCH), operators may not; bad bodies 400; unknown 404")
    func functions() async throws {
        let operatorToken = try await token(role: "authenticated", sub: OperatorRoutesTests.operatorID, appRole: "operator")
        let admin = try await token(role: "authenticated", sub: OperatorRoutesTests.adminID, appRole: "super_admin")
        let stranger = try await token(role: "authenticated", sub: OperatorRoutesTests.strangerID)
        try await OperatorRoutesTests().withRuns("select 1") { url in
            try await withServer(databaseURL: url) { client async throws in
                let listed = try await client.execute(uri: "/api/v1/functions", method: .get, headers: [.authorization: "Bearer \(operatorToken)"]) {
                    ($0.status, try JSONSerialization.jsonObject(with: Data(buffer: $0.body)) as? [String: Any])
                }
                #expect(listed.0 == .ok)
                let functions = listed.1?["data"] as? [[String: Any]] ?? []
                #expect(functions.compactMap { $0["id"] as? String } == ["nightshift/diagnostics", "nightshift/noop"])
                #expect(functions.first?["kind"] as? String == "swift")
                #expect(functions.first?["enabled"] as? Bool == true)
                #expect(functions.first?["retired"] as? Bool == false)
                #expect(try await client.get("/api/v1/functions", token: stranger).status == .forbidden)
                #expect(try await client.get("/api/v1/functions?limit=1", token: operatorToken).status == .badRequest)

                func patch(_ path: String, _ token: String, _ body: String) async throws -> Reply {
                    try await client.execute(uri: path, method: .patch, headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                                             body: ByteBuffer(string: body)) { try Reply($0) }
                }
                #expect(try await patch("/api/v1/functions/nightshift/noop", operatorToken, #"{"enabled": false}"#).status == .forbidden)
                #expect(try await patch("/api/v1/functions/nightshift/noop", stranger, #"{"enabled": false}"#).status == .forbidden)
                let disabled = try await patch("/api/v1/functions/nightshift/noop", admin, #"{"enabled": false}"#)
                #expect(disabled.status == .ok)
                #expect(disabled.data?["id"] as? String == "nightshift/noop")
                #expect(disabled.data?["enabled"] as? Bool == false)
                #expect(disabled.data?["enabled_override"] as? Bool == false)
                let missing = try await patch("/api/v1/functions/nightshift/noop", admin, "{}")
                #expect(missing.status == .badRequest)
                #expect(missing.errorMessage == #"field "enabled" is required: true or false"#)
                #expect(try await patch("/api/v1/functions/nightshift/noop", admin, #"{"enabled": "no"}"#).status == .badRequest)
                let unknown = try await patch("/api/v1/functions/no/such", admin, #"{"enabled": true}"#)
                #expect(unknown.status == .notFound)
                #expect(unknown.errorMessage == #"unknown function "no/such""#)
            }
        }
    }
}

@Suite("operator routes: schedules, events, deliveries", .serialized)
struct OperatorHistoryRoutesTests {
    static let seed = """
        insert into nightshift.events (id, name, data, created_at) values
            ('e0000000-0000-4000-8000-000000000001', 't.happened', '{"n": 1}', '2026-01-01 00:00+00'),
            ('e0000000-0000-4000-8000-000000000002', 't.happened', '{"n": 2}', '2026-01-01 00:00+00');
        insert into nightshift.runs (function_id, max_attempts, trigger_kind, trigger_event_id, correlation_id) values
            ('nightshift/noop', 1, 'event', 'e0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000001');
        insert into notify.channels (name) values ('slack');
        insert into notify.notifications (id, user_id, title, message) values
            ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001', 'T', 'M');
        insert into notify.deliveries (id, notification_id, channel, idempotency_key, status, attempts, max_attempts, delivered_at)
        overriding system value values
            (101, 'a0000000-0000-4000-8000-000000000001', 'slack', 'k1', 'failed', 5, 5, null),
            (102, 'a0000000-0000-4000-8000-000000000001', 'slack', 'k2', 'delivered', 1, 5, now());
        """

    @Test("operators read schedules, events (with their runs) and deliveries; super admins replay an event (202) and retry a failed delivery (202, then 409 with the status); operators get 403")
    func history() async throws {
        let operatorToken = try await token(role: "authenticated", sub: OperatorRoutesTests.operatorID, appRole: "operator")
        let admin = try await token(role: "authenticated", sub: OperatorRoutesTests.adminID, appRole: "super_admin")
        let stranger = try await token(role: "authenticated", sub: OperatorRoutesTests.strangerID)
        try await OperatorRoutesTests().withRuns(Self.seed) { url in
            try await withServer(databaseURL: url) { client async throws in
                let schedules = try await client.execute(uri: "/api/v1/schedules", method: .get, headers: [.authorization: "Bearer \(operatorToken)"]) {
                    ($0.status, (try JSONSerialization.jsonObject(with: Data(buffer: $0.body)) as? [String: Any])?["data"] as? [Any])
                }
                #expect(schedules.0 == .ok)
                #expect(schedules.1 != nil)
                #expect(try await client.get("/api/v1/schedules", token: stranger).status == .forbidden)

                let events = try await client.get("/api/v1/events?name=t.happened&limit=1", token: operatorToken)
                #expect(events.status == .ok)
                let first = (events.data?["events"] as? [[String: Any]])?.first
                #expect(first?["id"] as? String == "e0000000-0000-4000-8000-000000000002")
                let next = try #require(events.data?["next_before"] as? String)
                let second = try await client.get("/api/v1/events?name=t.happened&limit=1&before=\(next)", token: operatorToken)
                let older = (second.data?["events"] as? [[String: Any]])?.first
                #expect(older?["id"] as? String == "e0000000-0000-4000-8000-000000000001")
                #expect((older?["runs"] as? [[String: Any]])?.first?["function_id"] as? String == "nightshift/noop")
                #expect(try await client.get("/api/v1/events?since=soon", token: operatorToken).errorMessage
                        == #"query parameter since must be an RFC 3339 timestamp such as 2026-12-06T05:00:00Z, got "soon""#)

                let replayPath = "/api/v1/events/e0000000-0000-4000-8000-000000000001/replay"
                #expect(try await client.post(replayPath, token: operatorToken).status == .forbidden)
                let replay = try await client.post(replayPath, token: admin)
                #expect(replay.status == .accepted)
                #expect(replay.data?["replay_of"] as? String == "e0000000-0000-4000-8000-000000000001")
                #expect(try await client.post("/api/v1/events/e0000000-0000-4000-8000-00000000dead/replay", token: admin).status == .notFound)
                #expect(try await client.post("/api/v1/events/nope/replay", token: admin).status == .badRequest)

                let deliveries = try await client.get("/api/v1/deliveries?channel=slack&status=failed", token: operatorToken)
                #expect(deliveries.status == .ok)
                #expect((deliveries.data?["deliveries"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [101])
                #expect(try await client.get("/api/v1/deliveries?status=dead", token: operatorToken).status == .badRequest)

                #expect(try await client.post("/api/v1/deliveries/101/retry", token: operatorToken).status == .forbidden)
                let retried = try await client.post("/api/v1/deliveries/101/retry", token: admin)
                #expect(retried.status == .accepted)
                #expect(retried.data?["status"] as? String == "pending")
                let delivered = try await client.post("/api/v1/deliveries/102/retry", token: admin)
                #expect(delivered.status == .conflict)
                #expect((delivered.json["error"] as? [String: Any])?["status"] as? String == "delivered")
                #expect(try await client.post("/api/v1/deliveries/999/retry", token: admin).status == .notFound)
                #expect(try await client.post("/api/v1/deliveries/x/retry", token: admin).status == .badRequest)
            }
        }
    }
}
