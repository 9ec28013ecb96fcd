import Config
import Engine
import Hummingbird
import HummingbirdCore
import Logging
import Postgres
import Prometheus

/// The HTTP face of Nightshift: health, the engine's API, the operator console, metrics, the
/// edge functions and the routes packs contribute, behind one error envelope.
public enum NightshiftServer {
    /// Builds the router with every route and the error envelope; `health` is what the
    /// console's overview shows of the packs, `runEvents` feeds `GET /api/v1/stream` (by default a
    /// hub on `database`).
    public static func makeRouter(
        config: NightshiftConfig,
        database: PostgresPool,
        functions: [any EdgeFunction],
        routes: [any APIRoutes] = [],
        health: [any ConsoleHealth] = [],
        authenticator: Authenticator,
        metrics: PrometheusCollectorRegistry? = nil,
        runEvents: RunEventHub? = nil
    ) throws -> Router<BasicRequestContext> {
        // One LISTEN connection for every stream client of this process, opened on demand.
        let runEvents = runEvents ?? RunEventHub(database: database)
        let byName = try index(functions, config: config)
        let writes = WriteRateLimiter(perMinute: config.api.writesPerMinute)
        let consolePages = try ConsolePages()
        let document = OpenAPIDocumentCache {
            try openAPIJSON(openAPIDocument(config: config, functions: functions, routes: routes, metrics: metrics != nil))
        }
        func addRoutes(to router: Router<BasicRequestContext>) {
        HealthRoutes(database: database, projectID: config.projectID).addRoutes(to: router)
        OpenAPIRoutes(document: document).addRoutes(to: router)
        EdgeFunctionRoutes(functions: byName, authenticator: authenticator, writes: writes, database: database, config: config)
            .addRoutes(to: router)
        EngineRoutes(database: database, authenticator: authenticator, writes: writes, maxBodyBytes: config.api.maxBodyBytes)
            .addRoutes(to: router)
        OperatorRoutes(database: database, authenticator: authenticator, writes: writes, maxBodyBytes: config.api.maxBodyBytes)
            .addRoutes(to: router)
        // One signing key for the console's cookies, shared with the stream (which accepts them).
        let sessions = ConsoleSessions(auth: config.auth)
        ConsoleRoutes(
            database: database, authenticator: authenticator, sessions: sessions, pages: consolePages,
            writes: writes, health: health, maxBodyBytes: config.api.maxBodyBytes
        ).addRoutes(to: router)
        StreamRoutes(database: database, authenticator: authenticator, sessions: sessions, hub: runEvents).addRoutes(to: router)
        let context = APIRouteContext(config: config, database: database, authenticator: authenticator, writes: writes)
        for contributed in routes { contributed.addRoutes(to: router, context: context) }
        if let metrics { MetricsRoutes(registry: metrics, authenticator: authenticator, database: database).addRoutes(to: router) }
        }
        // The error middleware must come first, yet answers 405 from the routes added after it:
        // a first router, never served, lists them.
        let listing = Router(context: BasicRequestContext.self)
        addRoutes(to: listing)
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ErrorMiddleware(routes: RouteIndex(listing.routes)))
        router.add(middleware: RequestTimeoutMiddleware(timeout: config.api.requestTimeout))
        addRoutes(to: router)
        return router
    }

    /// Builds the application listening on `[api] host:port`.
    public static func makeApplication(
        config: NightshiftConfig,
        database: PostgresPool,
        functions: [any EdgeFunction],
        routes: [any APIRoutes] = [],
        health: [any ConsoleHealth] = [],
        metrics: PrometheusCollectorRegistry? = nil,
        logger: Logger
    ) async throws -> some ApplicationProtocol {
        try DevelopmentSecrets.check(config)
        let authenticator = try await checkedAuthenticator(config: config)
        let router = try makeRouter(
            config: config, database: database, functions: functions, routes: routes, health: health, authenticator: authenticator,
            metrics: metrics)
        return Application(
            router: router, server: .http1(configuration: http1Configuration(config.api)),
            configuration: .init(address: .hostname(config.api.host, port: config.api.port), serverName: "nightshift"),
            logger: logger)
    }

    /// Keep-alive idle timeout and header limits: a connection that sends nothing, or a header
    /// block past `max_header_bytes`, is closed before any handler runs.
    static func http1Configuration(_ api: APISettings) -> HTTP1Channel.Configuration {
        let idle = api.idleTimeout.components
        return HTTP1Channel.Configuration(
            idleTimeout: .nanoseconds(idle.seconds * 1_000_000_000 + idle.attoseconds / 1_000_000_000),
            httpDecoderConfiguration: .init(maxHeaderFieldSize: api.maxHeaderBytes, maxHeaderListSize: api.maxHeaderBytes))
    }

    /// An authenticator for `[auth]` (the project secret, or the JWKS of `jwks_path`), after
    /// checking that the JWKS makes usable keys and that the configured anon and service-role
    /// keys verify with the right roles, so a typo stops start-up instead of locking every
    /// client out.
    public static func checkedAuthenticator(config: NightshiftConfig) async throws -> Authenticator {
        let authenticator: Authenticator
        do {
            authenticator = try await Authenticator(settings: config.auth)
        } catch {
            throw ConfigError(key: "auth.jwks_path", source: config.source, problem: "\"\(config.auth.jwksPath ?? "")\" \(error.message)")
        }
        for (key, token, role) in [
            ("auth.anon_key", config.auth.anonKey, Principal.Role.anon),
            ("auth.service_role_key", config.auth.serviceRoleKey, Principal.Role.serviceRole),
        ] {
            let principal: Principal
            do {
                principal = try await authenticator.principal(forToken: token)
            } catch {
                throw ConfigError(key: key, source: config.source, problem: "is not a valid token for \(authenticator.keySource) (\(error.message))")
            }
            guard principal.role == role else {
                throw ConfigError(key: key, source: config.source, problem: "carries role \(principal.role.rawValue), expected \(role.rawValue)")
            }
        }
        return authenticator
    }

    /// Functions by name; a duplicate name or a `[functions.x]` entry naming no function is refused.
    static func index(_ functions: [any EdgeFunction], config: NightshiftConfig) throws -> [String: any EdgeFunction] {
        var byName: [String: any EdgeFunction] = [:]
        for function in functions {
            guard byName.updateValue(function, forKey: function.name) == nil else {
                throw ConfigError(key: "functions.\(function.name)", source: "functions/", problem: "two edge functions share this name")
            }
        }
        // A `[functions."<id>"]` job (sql or http) is the engine's, not an edge function's.
        let settings = config.functions.keys.filter { config.declaredJobs[$0] == nil }
        if let unknown = settings.sorted().first(where: { byName[$0] == nil }) {
            throw ConfigError(key: "functions.\(unknown)", source: config.source, problem: "no edge function with this name exists under functions/")
        }
        return byName
    }
}
