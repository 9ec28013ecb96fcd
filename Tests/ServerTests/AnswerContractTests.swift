import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Testing
import TestSupport

/// The answers' documented shapes over real HTTP (issue 15 §8, §9): the dossier edge functions
/// answer the story's fields at the top level and in `data`, errors stay the envelope; and no
/// answer of the engine's or the packs' routes writes an identifier upper-case.
@Suite("answer contracts", .serialized)
struct AnswerContractTests {
    /// One request's status and body text, as a client reads it.
    struct Raw {
        let status: HTTPResponse.Status
        let text: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
    }

    static func send(
        _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String?, body: String? = nil
    ) async throws -> Raw {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) {
            Raw(status: $0.status, text: String(decoding: $0.body.readableBytesView, as: UTF8.self))
        }
    }

    /// A parsed JSON value as text with sorted keys, to compare two parses.
    static func canonical(_ value: Any) -> String {
        let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
    }

    /// `fields` at the top level, the same values inside `data`, and `error: null`.
    static func expectTopLevel(_ reply: Raw, _ fields: [String], _ where: String) {
        let json = reply.json
        let data = json["data"] as? [String: Any]
        #expect(reply.status == .ok, "\(`where`): \(reply.text)")
        #expect(json["error"] is NSNull, "\(`where`): error is null beside the fields")
        for field in fields {
            #expect(json[field] != nil, "\(`where`): result.\(field) at the top level, as the story's clients read it: \(reply.text)")
            let top = json[field].map(Self.canonical)
            #expect(top != nil && top == data?[field].map(Self.canonical), "\(`where`): \(field) is the same at the top level and in data")
        }
        let extra = Set(json.keys).subtracting(["data", "error"]).subtracting(data?.keys.map { $0 } ?? [])
        #expect(extra.isEmpty, "\(`where`): nothing at the top level but data's fields: \(extra)")
    }

    @Test("the five dossier edge functions answer the story's fields at the top level and in data; errors are the envelope")
    func dossierShapes() async throws {
        try await DossierFunctionTests.withDossiers { url in
            let service = try await token(role: "service_role")
            let user = try await token(role: "authenticated", sub: DossierFunctionTests.owner)
            try await withServer(databaseURL: url) { client in
                let healthy = DossierFunctionTests.healthy
                let score = try await Self.send(client, .post, "/functions/v1/calculate-health-score", token: service,
                                                body: #"{"dossierId": "\#(healthy)", "forceRecalculation": true}"#)
                Self.expectTopLevel(score, ["dossierId", "overallScore", "components", "calculatedAt"], "calculate-health-score")
                #expect(score.json["overallScore"] as? Int == 100, "result.overallScore: \(score.text)")

                let overdue = try await Self.send(client, .post, "/functions/v1/detect-overdue-commitments", token: service, body: #"{"dryRun": false}"#)
                Self.expectTopLevel(overdue, ["overdueCount", "notificationsSent", "healthScoresRecalculated"], "detect-overdue-commitments")
                #expect(overdue.json["overdueCount"] as? Int == 1 && overdue.json["notificationsSent"] as? Int == 2
                        && overdue.json["healthScoresRecalculated"] as? Int == 1, "the story's three counts: \(overdue.text)")

                let stats = try await Self.send(client, .post, "/functions/v1/dossier-stats", token: user, body: #"{"dossierId": "\#(healthy)"}"#)
                Self.expectTopLevel(stats, ["dossierId", "name", "engagementStats", "commitmentStats"], "dossier-stats")
                let bulk = try await Self.send(client, .post, "/functions/v1/dossier-stats", token: user,
                                               body: #"{"dossierIds": ["\#(healthy)", "\#(DossierFunctionTests.unknown)"]}"#)
                Self.expectTopLevel(bulk, ["dossiers", "notFound"], "dossier-stats (many)")

                let refreshed = try await Self.send(client, .post, "/functions/v1/refresh-commitment-stats", token: service)
                Self.expectTopLevel(refreshed, ["view", "rows", "refreshedAt", "durationMs"], "refresh-commitment-stats")
                let recalculated = try await Self.send(client, .post, "/functions/v1/trigger-health-recalculation", token: service,
                                                       body: #"{"dossierIds": ["\#(healthy)"]}"#)
                Self.expectTopLevel(recalculated, ["recalculated", "notificationsSent"], "trigger-health-recalculation")

                // Errors keep the envelope, and only it.
                for (uri, token, body) in [
                    ("/functions/v1/calculate-health-score", service, #"{"dossierId": "\#(DossierFunctionTests.unknown)"}"#),
                    ("/functions/v1/dossier-stats", user, "{}"),
                    ("/functions/v1/detect-overdue-commitments", user, "{}"),
                    ("/functions/v1/trigger-health-recalculation", service, #"{"dossierIds": ["x"]}"#),
                    ("/functions/v1/refresh-commitment-stats", user, "{}"),
                ] {
                    let failed = try await Self.send(client, .post, uri, token: token, body: body)
                    #expect(failed.status.code >= 400, "\(uri): \(failed.text)")
                    #expect(failed.json.keys.sorted() == ["data", "error"] && failed.json["data"] is NSNull
                            && (failed.json["error"] as? [String: Any])?["code"] is String, "\(uri): the error envelope only: \(failed.text)")
                }
            }
        }
    }

    @Test("no answer of the engine's routes, the edge functions or the packs' routes writes a UUID upper-case")
    func lowerCaseUUIDs() async throws {
        try await DossierFunctionTests.withDossiers { url in
            let connection = try await PostgresConnection.connect(url: url)
            let script = try String(contentsOf: TestDatabase.projectRoot.appendingPathComponent("sql/seed/portfolio_seed.sql"), encoding: .utf8)
            try await connection.executeScript(script)
            try await connection.executeScript("""
                select portfolio.seed(1, 20, 2, 3);
                select nightshift.sync_functions('[{"id": "coverage/nightly-recompute", "concurrency": {"limit": 1, "key": "institution_id"}}]');
                insert into coverage.institutions (id, name) values ('20000000-0000-4000-8000-000000000001', 'Kasr Al Ainy');
                select notify.send('\(DossierFunctionTests.owner)', 'Hello', 'a notification to list');
                """)
            let portfolioUser = try await connection.query("select id from portfolio.users limit 1")[0].decode(UUID.self, at: 0)
            let asset = try await connection.query("select h.asset_id from portfolio.holdings h join portfolio.portfolios p on p.id = h.portfolio_id where p.user_id = \(portfolioUser) limit 1")[0].decode(UUID.self, at: 0)
            await connection.close()
            let service = try await token(role: "service_role")
            let admin = try await token(role: "authenticated", sub: "00000000-0000-4000-8000-0000000000aa", appRole: "super_admin")
            let owner = try await token(role: "authenticated", sub: DossierFunctionTests.owner)
            let investor = try await token(role: "authenticated", sub: portfolioUser.uuidString.lowercased())
            try await withServer(databaseURL: url) { client in
                var answers: [(String, Raw)] = []
                func call(_ method: HTTPRequest.Method, _ uri: String, _ token: String?, _ body: String? = nil) async throws -> Raw {
                    let reply = try await Self.send(client, method, uri, token: token, body: body)
                    answers.append(("\(method) \(uri)", reply))
                    return reply
                }
                // The engine: trigger, send an event, then every read and action on what they made.
                let queued = try await call(.post, "/api/v1/functions/coverage/nightly-recompute/runs", service, "{}")
                let runID = (queued.json["data"] as? [String: Any])?["run_id"] as? String ?? "missing"
                let event = try await call(.post, "/api/v1/events", service, #"{"name": "contract.check", "data": {"n": 1}}"#)
                let eventID = (event.json["data"] as? [String: Any])?["event_id"] as? String ?? "missing"
                _ = try await call(.get, "/health", nil)
                _ = try await call(.get, "/api/v1/functions", service)
                _ = try await call(.patch, "/api/v1/functions/coverage/nightly-recompute", service, #"{"enabled": true}"#)
                _ = try await call(.get, "/api/v1/runs", service)
                _ = try await call(.get, "/api/v1/runs/\(runID.lowercased())", service)
                _ = try await call(.post, "/api/v1/runs/\(runID.lowercased())/cancel", service)
                _ = try await call(.post, "/api/v1/runs/\(runID.lowercased())/rerun", service)
                _ = try await call(.get, "/api/v1/schedules", service)
                _ = try await call(.get, "/api/v1/events", service)
                _ = try await call(.post, "/api/v1/events/\(eventID.lowercased())/replay", service)
                _ = try await call(.get, "/api/v1/deliveries", service)
                // The coverage pack's admin route: queued, then the conflict naming the same run.
                let institution = #"{"institution_id": "20000000-0000-4000-8000-000000000001"}"#
                #expect(try await call(.post, "/api/v1/admin/coverage/recompute", admin, institution).status == .accepted)
                #expect(try await call(.post, "/api/v1/admin/coverage/recompute", admin, institution).status == .conflict)
                // The edge functions.
                let healthy = DossierFunctionTests.healthy
                _ = try await call(.post, "/functions/v1/dossier-stats", owner, #"{"dossierIds": ["\#(healthy)", "\#(DossierFunctionTests.unknown)"]}"#)
                _ = try await call(.post, "/functions/v1/calculate-health-score", owner, #"{"dossierId": "\#(healthy)"}"#)
                _ = try await call(.post, "/functions/v1/detect-overdue-commitments", service, "{}")
                _ = try await call(.post, "/functions/v1/refresh-commitment-stats", service)
                _ = try await call(.post, "/functions/v1/trigger-health-recalculation", service)
                let inbox = try await call(.post, "/functions/v1/notifications", owner, "{}")
                let first = ((inbox.json["data"] as? [String: Any])?["notifications"] as? [[String: Any]])?.first?["id"] as? String ?? "missing"
                _ = try await call(.post, "/functions/v1/mark-notification-read", owner, #"{"notificationId": "\#(first)"}"#)
                // The portfolio pack's routes.
                _ = try await call(.get, "/api/dashboard", investor)
                _ = try await call(.get, "/api/v1/audit/assets/\(asset.uuidString.lowercased())/calculations", investor)
                _ = try await call(.post, "/api/v1/criteria", investor,
                                   #"{"criteria": [{"metric": "pe_ratio", "operator": "<", "threshold": 15, "points": 10}]}"#)

                #expect(answers.count == 25)
                let successes = answers.filter { $0.1.status.code < 300 }.count
                #expect(successes >= 20, "most calls succeed, so their answers carry ids: \(answers.map { "\($0.0) \($0.1.status.code)" })")
                for (call, reply) in answers {
                    let upper = upperCaseUUIDs(in: reply.text)
                    #expect(upper.isEmpty, "\(call) answered \(reply.status.code) with upper-case UUIDs \(upper): \(reply.text.prefix(400))")
                }
                #expect(runID != "missing" && eventID != "missing" && first != "missing")
            }
        }
    }
}
