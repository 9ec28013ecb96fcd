import Config
import EdgeFunctions
import Engine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWTKit
import Postgres
import Prometheus
import Server
import Testing
import TestSupport

/// Issue 12 §5: every route of the router × every kind of caller → the status it must get.
/// The routes come from the router itself, so a route added without a row here fails the test.
@Suite("authorization matrix", .serialized)
struct AuthorizationMatrixTests {
    /// Who calls: no token, five broken tokens, and seven real callers.
    enum Caller: String, CaseIterable, Sendable {
        case none, malformed, expired, notYetValid, wrongAlgorithm, wrongSecret
        case anon, stranger, owner, viewer, operatorUser, superAdmin, service

        var isBroken: Bool { [.malformed, .expired, .notYetValid, .wrongAlgorithm, .wrongSecret].contains(self) }
    }

    /// One request per route (per edge function), and the status each caller must get: callers
    /// in `granted` get theirs, a broken or missing token 401, any other caller 403.
    struct Probe: Sendable {
        let pattern: String
        let method: HTTPRequest.Method
        let path: String
        let body: String?
        var open = false
        let granted: [Caller: HTTPResponse.Status]

        func expected(for caller: Caller) -> HTTPResponse.Status {
            if open { return granted[.none] ?? .ok }
            if let status = granted[caller] { return status }
            return caller == .none || caller.isBroken ? .unauthorized : .forbidden
        }
    }

    static let owner = "00000000-0000-4000-8000-0000000000a1"
    static let viewer = "00000000-0000-4000-8000-0000000000a2"
    static let stranger = "00000000-0000-4000-8000-0000000000a3"
    static let admin = "00000000-0000-4000-8000-0000000000a4"
    static let operatorID = "00000000-0000-4000-8000-0000000000a5"
    static let dossier = "d0000000-0000-4000-8000-0000000000d1"
    static let nobody = "e0000000-0000-4000-8000-0000000000e1"

    static let users: [Caller] = [.stranger, .owner, .viewer, .operatorUser, .superAdmin]

    static func forUsers(_ status: HTTPResponse.Status) -> [Caller: HTTPResponse.Status] {
        Dictionary(uniqueKeysWithValues: users.map { ($0, status) })
    }

    static let probes: [Probe] = [
        Probe(pattern: "/health", method: .get, path: "/health", body: nil, open: true, granted: [:]),
        Probe(pattern: "/api/v1/openapi.json", method: .get, path: "/api/v1/openapi.json", body: nil, open: true, granted: [:]),
        Probe(pattern: "/metrics", method: .get, path: "/metrics", body: nil, granted: [.service: .ok]),
        Probe(pattern: "/api/v1/functions/**", method: .post, path: "/api/v1/functions/nightshift/noop/runs", body: "{}", granted: [.service: .accepted]),
        Probe(pattern: "/api/v1/events", method: .post, path: "/api/v1/events", body: #"{"name": "matrix.probe"}"#, granted: [.service: .accepted]),
        // The operator's routes: operators read, super admins and the service read and act.
        Probe(pattern: "/api/v1/runs", method: .get, path: "/api/v1/runs?limit=1", body: nil,
              granted: [.operatorUser: .ok, .superAdmin: .ok, .service: .ok]),
        Probe(pattern: "/api/v1/runs/{id}", method: .get, path: "/api/v1/runs/\(nobody)", body: nil,
              granted: [.operatorUser: .notFound, .superAdmin: .notFound, .service: .notFound]),
        Probe(pattern: "/api/v1/runs/{id}/cancel", method: .post, path: "/api/v1/runs/\(nobody)/cancel", body: nil,
              granted: [.superAdmin: .notFound, .service: .notFound]),
        Probe(pattern: "/api/v1/runs/{id}/rerun", method: .post, path: "/api/v1/runs/\(nobody)/rerun", body: nil,
              granted: [.superAdmin: .notFound, .service: .notFound]),
        Probe(pattern: "/api/v1/functions", method: .get, path: "/api/v1/functions", body: nil,
              granted: [.operatorUser: .ok, .superAdmin: .ok, .service: .ok]),
        Probe(pattern: "/api/v1/schedules", method: .get, path: "/api/v1/schedules", body: nil,
              granted: [.operatorUser: .ok, .superAdmin: .ok, .service: .ok]),
        // The live stream, ended by the server after a second (timeout=1) so the probe returns.
        Probe(pattern: "/api/v1/stream", method: .get, path: "/api/v1/stream?timeout=1", body: nil,
              granted: [.operatorUser: .ok, .superAdmin: .ok, .service: .ok]),
        Probe(pattern: "/api/v1/events", method: .get, path: "/api/v1/events?limit=1", body: nil,
              granted: [.operatorUser: .ok, .superAdmin: .ok, .service: .ok]),
        Probe(pattern: "/api/v1/events/{id}/replay", method: .post, path: "/api/v1/events/\(nobody)/replay", body: nil,
              granted: [.superAdmin: .notFound, .service: .notFound]),
        Probe(pattern: "/api/v1/deliveries", method: .get, path: "/api/v1/deliveries?limit=1", body: nil,
              granted: [.operatorUser: .ok, .superAdmin: .ok, .service: .ok]),
        Probe(pattern: "/api/v1/deliveries/{id}/retry", method: .post, path: "/api/v1/deliveries/987654321/retry", body: nil,
              granted: [.superAdmin: .notFound, .service: .notFound]),
        Probe(pattern: "/api/v1/functions/**", method: .patch, path: "/api/v1/functions/nightshift/noop", body: #"{"enabled": true}"#,
              granted: [.superAdmin: .ok, .service: .ok]),
        Probe(pattern: "/api/v1/admin/coverage/recompute", method: .post, path: "/api/v1/admin/coverage/recompute",
              body: #"{"institution_id": "\#(nobody)"}"#, granted: [.superAdmin: .notFound]),
        // None of the matrix's users has a portfolio: each is refused as unknown, never shown another's.
        Probe(pattern: "/api/dashboard", method: .get, path: "/api/dashboard", body: nil, granted: forUsers(.notFound)),
        Probe(pattern: "/api/v1/audit/assets/{assetId}/calculations", method: .get, path: "/api/v1/audit/assets/\(nobody)/calculations",
              body: nil, granted: forUsers(.notFound)),
        Probe(pattern: "/api/v1/criteria", method: .post, path: "/api/v1/criteria",
              body: #"{"criteria": [{"metric": "roe", "operator": ">", "threshold": 10, "points": 1}]}"#, granted: forUsers(.notFound)),
        // Edge functions, one row each.
        Probe(pattern: "/functions/v1/hello", method: .post, path: "/functions/v1/hello", body: "{}",
              granted: forUsers(.ok).merging([.anon: .ok, .service: .ok]) { $1 }),
        Probe(pattern: "/functions/v1/dossier-stats", method: .post, path: "/functions/v1/dossier-stats", body: #"{"dossierId": "\#(dossier)"}"#,
              granted: [.owner: .ok, .viewer: .ok, .stranger: .notFound, .operatorUser: .notFound, .superAdmin: .notFound, .service: .ok]),
        Probe(pattern: "/functions/v1/calculate-health-score", method: .post, path: "/functions/v1/calculate-health-score",
              body: #"{"dossierId": "\#(dossier)", "forceRecalculation": true}"#,
              granted: [.owner: .ok, .viewer: .forbidden, .stranger: .notFound, .operatorUser: .notFound, .superAdmin: .notFound, .service: .ok]),
        Probe(pattern: "/functions/v1/detect-overdue-commitments", method: .post, path: "/functions/v1/detect-overdue-commitments",
              body: #"{"dryRun": true}"#, granted: [.service: .ok]),
        Probe(pattern: "/functions/v1/refresh-commitment-stats", method: .post, path: "/functions/v1/refresh-commitment-stats", body: "{}",
              granted: [.service: .ok]),
        Probe(pattern: "/functions/v1/trigger-health-recalculation", method: .post, path: "/functions/v1/trigger-health-recalculation",
              body: #"{"dossierIds": ["\#(dossier)"]}"#, granted: [.service: .ok]),
        Probe(pattern: "/functions/v1/notifications", method: .post, path: "/functions/v1/notifications", body: "{}", granted: forUsers(.ok)),
        Probe(pattern: "/functions/v1/mark-notification-read", method: .post, path: "/functions/v1/mark-notification-read",
              body: #"{"notificationId": "\#(nobody)"}"#, granted: forUsers(.notFound)),
    ]

    /// A token for each caller, signed as the caller's kind demands.
    static func tokens() async throws -> [Caller: String] {
        let hour = Date().addingTimeInterval(3600)
        let hs384Secret = testSecret + testSecret
        return [
            .malformed: "not.a.jwt",
            .expired: try await token(role: "authenticated", sub: owner, expires: Date().addingTimeInterval(-3600)),
            .notYetValid: try await token(role: "authenticated", sub: owner, notBefore: Date().addingTimeInterval(600)),
            .wrongAlgorithm: try await token(role: "service_role", expires: hour, secret: hs384Secret, digest: .sha384),
            .wrongSecret: try await token(role: "service_role", secret: "another-secret-0123456789abcdef0123456789"),
            .anon: try await token(role: "anon"),
            .stranger: try await token(role: "authenticated", sub: stranger),
            .owner: try await token(role: "authenticated", sub: owner),
            .viewer: try await token(role: "authenticated", sub: viewer),
            .operatorUser: try await token(role: "authenticated", sub: operatorID, appRole: "operator"),
            .superAdmin: try await token(role: "authenticated", sub: admin, appRole: Principal.superAdminRole),
            .service: try await token(role: "service_role"),
        ]
    }

    @Test("every route × no token, malformed, expired, not yet valid, wrong alg, wrong secret, anon, stranger, owner, viewer, operator, super admin, service")
    func matrix() async throws {
        try await TestDatabase.withMigratedDatabase { url in
            let owner = try await PostgresConnection.connect(url: url)
            try await owner.executeScript("""
                insert into dossier.dossiers (id, name, owner_id) values ('\(Self.dossier)', 'Matrix desk', '\(Self.owner)');
                insert into dossier.members (dossier_id, user_id, role) values ('\(Self.dossier)', '\(Self.viewer)', 'viewer');
                """)
            await owner.close()
            let pool = PostgresPool(configuration: PostgresConfiguration(url: url), maxConnections: 1)
            try await FunctionRegistry(Builtins.all).sync(to: pool)
            await pool.close()

            var config = try await testConfig()
            config.api.writesPerMinute = 0
            config.api.maxBodyBytes = 4096
            let tokens = try await Self.tokens()
            let routes = try await Self.routePatterns(config: config)
            let patterns = Set(Self.probes.map(\.pattern))
            let edge = Set(RepositoryPacks.edgeFunctions.map { "/functions/v1/\($0.name)" })
            #expect(routes.subtracting(["/functions/v1/{name}"]).subtracting(patterns).isEmpty,
                    "every route has a row: \(routes.subtracting(patterns).sorted())")
            #expect(edge.isSubset(of: patterns), "every edge function has a row: \(edge.subtracting(patterns).sorted())")

            let metrics = PrometheusCollectorRegistry()
            let mismatches = try await withServer(databaseURL: url, metrics: metrics, config: config) { client in
                var mismatches: [String] = []
                for probe in Self.probes {
                    for caller in Caller.allCases {
                        var headers: HTTPFields = [.contentType: "application/json"]
                        if let token = tokens[caller] { headers[.authorization] = "Bearer \(token)" }
                        let status = try await client.execute(
                            uri: probe.path, method: probe.method, headers: headers, body: probe.body.map { ByteBuffer(string: $0) }
                        ) { $0.status }
                        if status != probe.expected(for: caller) {
                            mismatches.append("\(probe.method) \(probe.path) as \(caller): \(status.code), expected \(probe.expected(for: caller).code)")
                        }
                    }
                }
                return mismatches
            }
            #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
            print("authorization matrix: \(Self.probes.count) routes × \(Caller.allCases.count) callers = \(Self.probes.count * Caller.allCases.count) cases")
        }
    }

    /// The router's own route patterns (HEAD, which every GET answers, aside), for the catalog's
    /// edge functions (`Open` only because the test config declares it).
    static func routePatterns(config: NightshiftConfig) async throws -> Set<String> {
        let pool = PostgresPool(configuration: PostgresConfiguration(url: TestDatabase.url), maxConnections: 1)
        defer { Task { await pool.close() } }
        let router = try NightshiftServer.makeRouter(
            config: config, database: pool, functions: RepositoryPacks.edgeFunctions + [Open()], routes: RepositoryPacks.routes, authenticator: try await NightshiftServer.checkedAuthenticator(config: config),
            metrics: PrometheusCollectorRegistry())
        // The console (/console) takes no token: its cookie sessions, CSRF tokens and operator
        // refusals have their own suite (ConsoleTests).
        return Set(router.routes.filter { $0.method != .head && !ConsoleTests.isConsole($0.path.description) }.map { $0.path.description })
    }
}
