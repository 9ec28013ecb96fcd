import Config
import Hummingbird
import Postgres

/// Routes a pack (or an application) adds to the API beside the engine's and the edge
/// functions (a dashboard read, an admin trigger). The server knows none of
/// them by name; ``NightshiftServer/makeApplication(config:database:functions:routes:health:metrics:logger:)``
/// is given them.
public protocol APIRoutes: Sendable {
    /// Adds the routes. Each handler authenticates with `context.authenticator`, counts writes
    /// with `context.writes`, and runs its SQL through ``RequestDatabase`` under the caller's role.
    func addRoutes(to router: Router<BasicRequestContext>, context: APIRouteContext)
    /// What `GET /api/v1/openapi.json` says of each route added (none by default, which the
    /// OpenAPI tests refuse, naming the route).
    var operations: [APIOperation] { get }
}

/// What routes get from the server: the API's pool, the authenticator and the write limiter.
public struct APIRouteContext: Sendable {
    /// The whole loaded config; a pack reads its own table with `config.section(_:)`.
    public let config: NightshiftConfig
    /// The API's own pool (short statement timeout); wrap it in ``RequestDatabase`` per request.
    public let database: PostgresPool
    /// Verifies the caller's token; ``Authenticator/require(_:for:)`` turns a request into a
    /// ``Principal`` or throws the 401/403 ``APIError``.
    public let authenticator: Authenticator
    /// `[api] writes_per_minute` per caller, shared with every other write route.
    public let writes: WriteRateLimiter

    /// `[api] max_body_bytes`.
    public var maxBodyBytes: Int { config.api.maxBodyBytes }
}
