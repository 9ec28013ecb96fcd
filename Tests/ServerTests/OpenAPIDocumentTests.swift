import Config
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OpenAPIKit
import Postgres
import Prometheus
import Testing
import TestSupport

@testable import Server

/// Issue 14 §2: `GET /api/v1/openapi.json` describes every route the router has. The routes come
/// from the router itself (as in the authorization matrix), so a route added without a
/// description fails here, named.
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    /// What the matrix serves: the repository's functions and packs, `Open`, metrics on.
    static let functions: [any EdgeFunction] = RepositoryPacks.edgeFunctions + [Open()]

    /// The router's routes (HEAD aside, which every GET answers) as `makeRouter` builds them.
    static func routerRoutes(config: NightshiftConfig, routes: [any APIRoutes] = RepositoryPacks.routes)
        async throws -> [Router<BasicRequestContext>.RouteDescription]
    {
        let pool = PostgresPool(configuration: PostgresConfiguration(url: TestDatabase.url), maxConnections: 1)
        defer { Task { await pool.close() } }
        let router = try NightshiftServer.makeRouter(
            config: config, database: pool, functions: functions, routes: routes,
            authenticator: try await NightshiftServer.checkedAuthenticator(config: config), metrics: PrometheusCollectorRegistry())
        // The console's pages (/console, /console/…) are HTML for a browser, not API: they stay
        // out of the document, explicitly here (ConsoleTests covers them).
        return router.routes.filter { $0.method != .head && !ConsoleTests.isConsole($0.path.description) }
    }

    /// Every documented operation as (method, path template).
    static func documented(_ document: OpenAPI.Document) -> [(method: String, path: String)] {
        document.paths.flatMap { path, item in
            (item.b?.endpoints ?? []).map { (method: $0.method.rawValue, path: path.rawValue) }
        }
    }

    /// The path item at `path`, if the document has one.
    static func item(_ document: OpenAPI.Document, _ path: String) -> OpenAPI.PathItem? {
        document.paths[OpenAPI.Path(rawValue: path)]?.b
    }

    /// A concrete path for a template: each `{name}` becomes one segment.
    static func concrete(_ template: String) -> String {
        template.split(separator: "/").map { $0.hasPrefix("{") && $0.hasSuffix("}") ? "x" : String($0) }
            .reduce("") { $0 + "/" + $1 }
    }

    /// "METHOD pattern" of each route no documented operation reaches, and "METHOD path" of each
    /// documented operation no route serves.
    static func drift(routes: [Router<BasicRequestContext>.RouteDescription], document: OpenAPI.Document)
        -> (undocumented: [String], unserved: [String])
    {
        let operations = documented(document)
        let undocumented = routes.filter { route in
            let index = RouteIndex([route])
            return !operations.contains { $0.method == route.method.rawValue && !index.methods(for: concrete($0.path)).isEmpty }
        }.map { "\($0.method) \($0.path)" }
        let all = RouteIndex(routes)
        let unserved = operations.filter { operation in
            !all.methods(for: concrete(operation.path)).map(\.rawValue).contains(operation.method)
        }.map { "\($0.method) \($0.path)" }
        return (undocumented.sorted(), unserved.sorted())
    }

    @Test("every route of the router is documented with its method, and every documented operation is served")
    func routerAndDocumentAgree() async throws {
        let config = try await testConfig()
        let routes = try await Self.routerRoutes(config: config)
        let document = NightshiftServer.openAPIDocument(config: config, functions: Self.functions, routes: RepositoryPacks.routes, metrics: true)
        let (undocumented, unserved) = Self.drift(routes: routes, document: document)
        #expect(undocumented.isEmpty, "routes without an operation in the OpenAPI document (describe them: EngineOperations, EdgeFunction.openAPI, APIRoutes.operations): \(undocumented)")
        #expect(unserved.isEmpty, "documented operations no route serves: \(unserved)")
        #expect(routes.count >= 10)
    }

    /// A route that does not describe itself, as a pack might add one.
    struct Undescribed: APIRoutes {
        func addRoutes(to router: Router<BasicRequestContext>, context: APIRouteContext) {
            router.get("/api/v1/undescribed/{id}") { _, _ in "" }
        }
    }

    @Test("a route added without a description fails the check, named")
    func undescribedRouteIsNamed() async throws {
        let config = try await testConfig()
        let routes = try await Self.routerRoutes(config: config, routes: RepositoryPacks.routes + [Undescribed()])
        let document = NightshiftServer.openAPIDocument(
            config: config, functions: Self.functions, routes: RepositoryPacks.routes + [Undescribed()], metrics: true)
        let (undocumented, unserved) = Self.drift(routes: routes, document: document)
        #expect(undocumented == ["GET /api/v1/undescribed/{id}"])
        #expect(unserved.isEmpty)
        // And the other way: an operation whose route is gone.
        let fewer = routes.filter { !($0.path.description == "/api/v1/events" && $0.method == .post) }
        #expect(Self.drift(routes: fewer, document: document).unserved == ["POST /api/v1/events"])
    }

    @Test("every edge function is listed, with its roles, verify_jwt and a generic body when it describes none")
    func edgeFunctionsAreListed() async throws {
        let config = try await testConfig()
        let document = NightshiftServer.openAPIDocument(config: config, functions: Self.functions + [ServiceOnly()], metrics: false)
        for function in Self.functions + [ServiceOnly()] {
            let operation = Self.item(document, "/functions/v1/\(function.name)")?.post
            #expect(operation != nil, "POST /functions/v1/\(function.name) is not in the document")
            let roles = (function.allowedRoles ?? Set(Principal.Role.allCases)).map(\.rawValue).sorted()
            #expect((operation?.vendorExtensions["x-nightshift-roles"]?.value as? [String])?.sorted() == roles, "\(function.name)")
            let anonymous = operation?.security?.contains { $0.isEmpty } ?? false
            #expect(anonymous == !config.functionSettings(function.name).verifyJWT, "\(function.name): a call without a token")
        }
        let generic = Self.item(document, "/functions/v1/service-only")?.post
        #expect(generic?.summary == "The service-only edge function")
        #expect(generic?.requestBody?.b?.content[OpenAPI.ContentType.json]?.b?.schema?.jsonType == .object)
        // Described ones carry their own schema.
        let hello = Self.item(document, "/functions/v1/hello")?.post?.requestBody?.b?.content[OpenAPI.ContentType.json]?.b?.schema
        #expect(hello?.objectContext?.properties["name"] != nil)
    }

    @Test("the document is OpenAPI 3.1, validates, and reuses the envelope's error shape and both security schemes")
    func documentValidates() async throws {
        let config = try await testConfig()
        let document = NightshiftServer.openAPIDocument(config: config, functions: Self.functions, routes: RepositoryPacks.routes, metrics: true)
        let warnings = try document.validate()
        #expect(warnings.isEmpty, "\(warnings)")
        let json = try JSONSerialization.jsonObject(with: try NightshiftServer.openAPIJSON(document)) as? [String: Any] ?? [:]
        #expect((json["openapi"] as? String)?.hasPrefix("3.1.") == true)
        let components = json["components"] as? [String: Any] ?? [:]
        #expect((components["securitySchemes"] as? [String: Any])?.keys.sorted() == ["apikey", "bearer"])
        #expect((components["schemas"] as? [String: Any])?["ErrorEnvelope"] != nil)
        // The engine's trigger: service role only, 401/403 by reference to the shared error answers.
        let trigger = Self.item(document, "/api/v1/functions/{function_id}/runs")?.post
        #expect(trigger?.vendorExtensions["x-nightshift-roles"]?.value as? [String] == ["service_role"])
        #expect(trigger?.responses[status: 401]?.reference?.name == "Unauthorized")
        #expect(trigger?.responses[status: 429]?.reference?.name == "TooManyRequests")
        // Open routes need no token.
        #expect(Self.item(document, "/health")?.get?.security == nil)
        #expect(Self.item(document, "/api/v1/openapi.json")?.get?.security == nil)
    }

    @Test("GET /api/v1/openapi.json: no token, application/json, the same bytes every time, and it decodes")
    func servedWithoutAuth() async throws {
        let config = try await testConfig()
        let (first, second, type) = try await withServer(config: config) { client in
            let first = try await client.execute(uri: "/api/v1/openapi.json", method: .get) { ($0.status, Data(buffer: $0.body), $0.headers[.contentType]) }
            let second = try await client.execute(uri: "/api/v1/openapi.json", method: .get) { Data(buffer: $0.body) }
            #expect(first.0 == .ok)
            return (first.1, second, first.2)
        }
        #expect(type?.hasPrefix("application/json") == true)
        #expect(first == second)
        let decoded = try JSONDecoder().decode(OpenAPI.Document.self, from: first)
        #expect(Self.item(decoded, "/api/v1/runs/{id}")?.get?.operationId == "getRun")
        #expect(Self.item(decoded, "/functions/v1/hello")?.post != nil)
    }

    @Test("a function answering its fields at the top level documents both: its fields and the envelope's, side by side")
    func fieldsAtTopLevelAreDocumented() async throws {
        let config = try await testConfig()
        let document = NightshiftServer.openAPIDocument(config: config, functions: Self.functions, routes: RepositoryPacks.routes, metrics: false)
        let json = try JSONSerialization.jsonObject(with: try NightshiftServer.openAPIJSON(document)) as? [String: Any] ?? [:]
        func success(_ path: String) -> [String: Any] {
            let paths = json["paths"] as? [String: Any]
            let post = (paths?[path] as? [String: Any])?["post"] as? [String: Any]
            let ok = (post?["responses"] as? [String: Any])?["200"] as? [String: Any]
            let media = (ok?["content"] as? [String: Any])?["application/json"] as? [String: Any]
            return media?["schema"] as? [String: Any] ?? [:]
        }
        for (function, field) in [
            ("detect-overdue-commitments", "overdueCount"), ("calculate-health-score", "overallScore"),
            ("trigger-health-recalculation", "recalculated"), ("refresh-commitment-stats", "durationMs"),
        ] {
            let parts = success("/functions/v1/\(function)")["allOf"] as? [[String: Any]] ?? []
            #expect(parts.count == 2, "\(function): allOf of its answer and the envelope")
            #expect((parts.first?["properties"] as? [String: Any])?[field] != nil, "\(function): \(field) at the top level")
            let envelope = parts.last?["properties"] as? [String: Any]
            #expect(((envelope?["data"] as? [String: Any])?["properties"] as? [String: Any])?[field] != nil, "\(function): \(field) in data")
            #expect(envelope?["error"] != nil)
        }
        #expect((success("/functions/v1/dossier-stats")["allOf"] as? [Any])?.count == 2)
        // A function that did not opt in keeps the plain envelope, nothing beside data and error.
        let hello = success("/functions/v1/hello")
        #expect(hello["allOf"] == nil && (hello["properties"] as? [String: Any])?.keys.sorted() == ["data", "error"])
        #expect(hello["additionalProperties"] as? Bool == false)
    }
}
