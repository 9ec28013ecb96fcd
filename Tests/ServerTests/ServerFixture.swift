import Config
import EdgeFunctions
import Engine
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import JWTKit
import Logging
import Postgres
import Prometheus
import Server
import TestSupport

let testSecret = "test-only-secret-0123456789abcdef0123456789"

/// Signs tokens the way Supabase does: HS256 with the project secret (`digest` .sha384 makes
/// an HS384 token of the same secret). `expires` nil leaves `exp` out.
func token(
    role: String, sub: String? = nil, appRole: String? = nil,
    expires: Date? = Date().addingTimeInterval(3600), secret: String = testSecret,
    notBefore: Date? = nil, issuedAt: Date? = nil, issuer: String? = nil, audience: [String]? = nil,
    digest: DigestAlgorithm = .sha256
) async throws -> String {
    let keys = JWTKeyCollection()
    await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: digest)
    return try await keys.sign(AuthClaims(
        role: role, sub: sub, exp: expires.map(ExpirationClaim.init(value:)), iss: issuer, appRole: appRole,
        aud: audience, iat: issuedAt, nbf: notBefore))
}

/// A config for the test server: the test secret, keys of it, a small body limit; `auth` adds
/// lines to `[auth]`.
func testConfig(extra: String = "", anonRole: String = "anon", auth: String = "") async throws -> NightshiftConfig {
    let anon = try await token(role: anonRole, expires: Date().addingTimeInterval(86400))
    let service = try await token(role: "service_role", expires: Date().addingTimeInterval(86400))
    return try NightshiftConfig.parse("""
        project_id = "server-tests"
        [api]
        max_body_bytes = 256
        [auth]
        jwt_secret = "\(testSecret)"
        anon_key = "\(anon)"
        service_role_key = "\(service)"
        \(auth)
        [functions.open]
        verify_jwt = false
        \(extra)
        """, source: "server-tests.toml")
}

/// Echoes the caller, allowed for the service role only.
struct ServiceOnly: EdgeFunction {
    let name = "service-only"
    var allowedRoles: Set<Principal.Role>? { [.serviceRole] }

    func handle(_ request: EdgeRequest) async throws -> EdgeResponse {
        .ok(["role": request.principal?.role.rawValue ?? "none"])
    }
}

/// Echoes who called; `verify_jwt = false` in the test config.
struct Open: EdgeFunction {
    let name = "open"

    struct Caller: Encodable, Sendable {
        let role: String?
        let sub: String?
        let superAdmin: Bool
    }

    func handle(_ request: EdgeRequest) async throws -> EdgeResponse {
        .ok(Caller(role: request.principal?.role.rawValue, sub: request.principal?.subject, superAdmin: request.principal?.isSuperAdmin ?? false))
    }
}

/// A handler with no authorization of its own: it reads and changes every dossier and
/// notification it can reach, to prove the database alone keeps a user to their own rows.
struct Unguarded: EdgeFunction {
    let name = "unguarded"

    func handle(_ request: EdgeRequest) async throws -> EdgeResponse {
        let reach = try await request.database.transaction { connection in
            let dossiers = try connection.query("select coalesce(array_agg(id::text order by id), '{}') from dossier.dossiers")[0]
                .decode([String].self, at: 0)
            let renamed = try connection.execute("update dossier.dossiers set name = name || ' (renamed)'")
            let notifications = try connection.query("select count(*)::int from notify.notifications")[0].decode(Int.self, at: 0)
            let marked = try connection.execute("update notify.notifications set read = true, read_at = now() where not read")
            return ["dossiers": JSONValue.array(dossiers.map(JSONValue.string)), "renamed": .number(Decimal(renamed)),
                    "notifications": .number(Decimal(notifications)), "marked": .number(Decimal(marked))]
        }
        return .ok(JSONValue.object(reach))
    }
}

/// Sleeps in the database for `seconds` (default 5), under the caller's role.
struct Slow: EdgeFunction {
    let name = "slow"

    struct Input: Decodable { var seconds: Double? }

    func handle(_ request: EdgeRequest) async throws -> EdgeResponse {
        let seconds = try request.decode(Input.self).seconds ?? 5
        _ = try await request.database.query("select pg_sleep(\(seconds))")
        return .ok(["slept": seconds])
    }
}

/// Echoes the verified claims as the principal carries them (`verify_jwt` on).
struct EchoClaims: EdgeFunction {
    let name = "echo-claims"

    func handle(_ request: EdgeRequest) async throws -> EdgeResponse {
        .ok(["claims": request.principal?.claimsJSON ?? ""])
    }
}

/// Runs `body` against a live server on a loopback port, logged in to `databaseURL`'s database
/// as nightshift_app, as in production.
func withServer<T: Sendable>(
    databaseURL: String = TestDatabase.url,
    metrics: PrometheusCollectorRegistry? = nil,
    config: NightshiftConfig? = nil,
    _ body: @escaping @Sendable (any TestClientProtocol) async throws -> T
) async throws -> T {
    try await withServer(databaseURL: databaseURL, metrics: metrics, config: config) { client, _ in try await body(client) }
}

/// The same, handing `body` the server's pool too (of `connections`, waiting `acquireTimeout`).
func withServer<T: Sendable>(
    databaseURL: String = TestDatabase.url,
    metrics: PrometheusCollectorRegistry? = nil,
    config: NightshiftConfig? = nil,
    connections: Int = 2,
    acquireTimeout: Duration = .seconds(10),
    _ body: @escaping @Sendable (any TestClientProtocol, PostgresPool) async throws -> T
) async throws -> T {
    let config = if let config { config } else { try await testConfig() }
    let pool = PostgresPool(
        configuration: PostgresConfiguration(url: TestDatabase.appURL(databaseURL)), maxConnections: connections,
        acquireTimeout: acquireTimeout)
    let authenticator = try await NightshiftServer.checkedAuthenticator(config: config)
    let router = try NightshiftServer.makeRouter(
        config: config, database: pool, functions: RepositoryPacks.edgeFunctions + [ServiceOnly(), Open(), Unguarded(), EchoClaims(), Slow()], routes: RepositoryPacks.routes, health: RepositoryPacks.health, authenticator: authenticator,
        metrics: metrics)
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    do {
        let result = try await app.test(.live) { client in try await body(client, pool) }
        await pool.close()
        return result
    } catch {
        await pool.close()
        throw error
    }
}

/// The envelope's parts, decoded loosely for assertions.
struct Reply {
    let status: HTTPResponse.Status
    let json: [String: Any]

    init(_ response: TestResponse) throws {
        status = response.status
        json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any] ?? [:]
    }

    var data: [String: Any]? { json["data"] as? [String: Any] }
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String }
    var isEnvelope: Bool { json.keys.sorted() == ["data", "error"] }
}

extension TestClientProtocol {
    func get(_ uri: String, token: String? = nil) async throws -> Reply {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: .get, headers: headers) { try Reply($0) }
    }

    func post(_ uri: String, token: String? = nil, apikey: String? = nil, body: String? = nil, headers extra: HTTPFields = [:]) async throws -> Reply {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let apikey { headers[HTTPField.Name("apikey")!] = apikey }
        headers.append(contentsOf: extra)
        return try await execute(uri: uri, method: .post, headers: headers, body: body.map { ByteBuffer(string: $0) }) { try Reply($0) }
    }
}
