import Engine
import Foundation
import Postgres
import Testing

/// GET /api/dashboard, GET /api/v1/audit/assets/<id>/calculations and POST /api/v1/criteria
/// over real HTTP, after a real overnight run.
@Suite("portfolio API", .serialized)
struct PortfolioAPITests {
    @Test("dashboard: from the cache, then computed when the key is gone; fromCache right each time; one user's data only")
    func dashboard() async throws {
        try await PortfolioFixture.with(users: 3) { fixture in
            let pack = fixture.pack
            try await fixture.runOvernight()
            let (alice, bob) = (fixture.users[0], fixture.users[1])
            try await pack.withServer {
                let aliceToken = try await fixture.token(user: alice)
                let cached = try await fixture.request("/api/dashboard", token: aliceToken)
                #expect(cached.status == 200)
                let data = try #require(cached.json["data"])
                #expect(data["fromCache"] == .bool(true))
                let base = try await pack.database.query("select base_currency::text from portfolio.users where id = \(alice)")[0].decode(String.self, at: 0)
                #expect(data["baseCurrency"] == .string(base))
                #expect(data["freshness"]?["ratesStale"] == .bool(false))
                // The tech spec's DashboardResponse: dataFreshness a string (when generated), fromCache; not stale.
                let generated = try #require(data["dataFreshness"]?.string)
                #expect(generated.hasSuffix("Z") && generated.count >= 20, "an ISO 8601 timestamp in UTC: \(generated)")
                #expect(data["generatedAt"] == data["dataFreshness"] && data["stale"] == .bool(false))
                #expect(data["userId"] == .string(alice.uuidString.lowercased()))
                #expect(data["totalInvestable"]?.string != nil, "a decimal string")
                let recommendations = try #require(data["recommendations"]?.array)
                #expect(!recommendations.isEmpty)
                #expect(recommendations.allSatisfy { $0["amount"]?.string != nil && $0["currency"] == .string(base) })

                // The key gone: computed from the database, the same recommendations.
                try await pack.database.execute("select cache.invalidate('recs:' || \(alice)::text)")
                let computed = try await fixture.request("/api/dashboard", token: aliceToken)
                #expect(computed.status == 200)
                #expect(computed.json["data"]?["fromCache"] == .bool(false))
                #expect(computed.json["data"]?["recommendations"] == data["recommendations"])

                // Bob sees his own document, never Alice's.
                let bobs = try await fixture.request("/api/dashboard", token: try await fixture.token(user: bob))
                let bobsCache = try await pack.database.query("select (cache.get('recs:' || \(bob)::text) -> 'recommendations')::text")[0].decode(String.self, at: 0)
                #expect(bobs.json["data"]?["recommendations"] == (try JSONValue(json: bobsCache)))
                #expect(bobs.json["data"]?["recommendations"] != data["recommendations"])

                // A user the planner does not know: 404; no user in the token: refused.
                let stranger = try await fixture.request("/api/dashboard", token: try await fixture.token(user: UUID()))
                #expect(stranger.status == 404)
                #expect(try await fixture.request("/api/dashboard", token: nil).status == 401)
                #expect(try await fixture.request("/api/dashboard", token: try await fixture.token(role: "service_role", user: nil)).status == 403)
                #expect(try await fixture.request("/api/dashboard", token: try await fixture.token(role: "anon", user: nil)).status == 403)
            }
        }
    }

    @Test("audit: every calculation of an asset for the caller, newest first, paginated; another user's stay hidden")
    func audit() async throws {
        try await PortfolioFixture.with(users: 2, marketsPerUser: 0) { fixture in
            let pack = fixture.pack
            try await fixture.runOvernight()
            try await fixture.runOvernight()
            let (alice, bob) = (fixture.users[0], fixture.users[1])
            // An asset Alice's scoring covers and Bob's does not.
            let asset = try await pack.database.query("""
                select asset_id from portfolio.asset_scores where user_id = \(alice)
                except select asset_id from portfolio.asset_scores where user_id = \(bob)
                order by 1 limit 1
                """)[0].decode(UUID.self, at: 0)
            let runs = try await pack.database.query("select correlation_id from portfolio.overnight_job_runs order by started_at desc")
                .map { JSONValue.string(try $0.decode(UUID.self, at: 0).uuidString.lowercased()) }
            try await pack.withServer {
                let aliceToken = try await fixture.token(user: alice)
                let path = "/api/v1/audit/assets/\(asset.uuidString.lowercased())/calculations"
                let all = try await fixture.request(path, token: aliceToken)
                #expect(all.status == 200)
                let calculations = try #require(all.json["data"]?["calculations"]?.array)
                #expect(calculations.map { $0["correlationId"] } == runs, "newest first, one per run")
                let types = calculations.first?["events"]?.array?.compactMap { $0["type"]?.string }
                #expect(types == ["CALC_STARTED", "INPUTS_CAPTURED", "SCORES_COMPUTED", "CALC_COMPLETED"])

                let first = try await fixture.request(path + "?limit=1", token: aliceToken)
                let cursor = try #require(first.json["data"]?["nextBefore"]?.string)
                #expect(first.json["data"]?["calculations"]?.array?.map { $0["correlationId"] } == [runs[0]])
                let encoded = cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor
                let second = try await fixture.request(path + "?limit=1&before=\(encoded)", token: aliceToken)
                #expect(second.status == 200)
                #expect(second.json["data"]?["calculations"]?.array?.map { $0["correlationId"] } == [runs[1]])

                let bobs = try await fixture.request(path, token: try await fixture.token(user: bob))
                #expect(bobs.status == 200)
                #expect(bobs.json["data"]?["calculations"]?.array?.isEmpty == true, "Bob sees none of Alice's calculations")

                #expect(try await fixture.request("/api/v1/audit/assets/not-a-uuid/calculations", token: aliceToken).status == 400)
                let badLimit = try await fixture.request(path + "?limit=0", token: aliceToken)
                #expect(badLimit.status == 400)
                #expect(badLimit.json["error"]?["message"]?.string?.contains("limit") == true)
                #expect(try await fixture.request(path + "?before=yesterday", token: aliceToken).status == 400)
                #expect(try await fixture.request(path, token: nil).status == 401)
            }
        }
    }

    @Test("criteria: a valid rule set becomes the next version; a bad one is refused naming the rule")
    func criteria() async throws {
        try await PortfolioFixture.with(users: 1, assets: 30) { fixture in
            let user = fixture.users[0]
            let versions = try await fixture.pack.count("select count(*) from portfolio.criteria_versions where user_id = \(user)")
            try await fixture.pack.withServer {
                let token = try await fixture.token(user: user)
                let saved = try await fixture.request("/api/v1/criteria", method: "POST", token: token, body: """
                    {"criteria": [{"metric": "dividend_yield", "operator": ">=", "threshold": 4.10, "points": 0.1},
                                  {"metric": "pe_ratio", "operator": "between", "threshold": [5, 15], "points": 5}]}
                    """)
                #expect(saved.status == 201)
                #expect(saved.json["data"]?["version"] == .number(Decimal(versions + 1)), "the seed saved versions 1...\(versions)")
                // Stored exactly as sent: no binary floating point on the way.
                let stored = try await fixture.pack.database.query("""
                    select (criteria -> 0 ->> 'threshold') || ' ' || (criteria -> 0 ->> 'points')
                    from portfolio.criteria_versions where user_id = \(user) and version = \(versions + 1)
                    """)[0].decode(String.self, at: 0)
                #expect(stored == "4.10 0.1")

                let bad = try await fixture.request("/api/v1/criteria", method: "POST", token: token, body: """
                    {"criteria": [{"metric": "roe", "operator": ">", "threshold": 10, "points": 1},
                                  {"metric": "roe", "operator": "!=", "threshold": 10, "points": 1}]}
                    """)
                #expect(bad.status == 400)
                #expect(bad.json["error"]?["message"]?.string?.contains("criteria[1]") == true, "\(bad.json)")
                let missing = try await fixture.request("/api/v1/criteria", method: "POST", token: token, body: #"{"rules": []}"#)
                #expect(missing.status == 400)
                #expect(try await fixture.request("/api/v1/criteria", method: "POST", token: token, body: "{not json").status == 400)
                let rule = #"{"metric": "roe", "operator": ">", "threshold": 10, "points": 1}"#
                let tooMany = try await fixture.request("/api/v1/criteria", method: "POST", token: token,
                                                        body: #"{"criteria": [\#(Array(repeating: rule, count: 101).joined(separator: ","))]}"#)
                #expect(tooMany.status == 400)
                #expect(tooMany.json["error"]?["message"]?.string?.contains("at most 100 rules") == true, "\(tooMany.json)")
                #expect(try await fixture.pack.count("select count(*) from portfolio.criteria_versions where user_id = \(user)") == versions + 1,
                    "nothing saved by the refused requests")
            }
        }
    }
}
