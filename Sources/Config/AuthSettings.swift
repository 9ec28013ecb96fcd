/// `[auth]`: how tokens are verified, and the two project keys.
///
/// Either `jwtSecret` (HS256, the local default) or `jwksPath` (ES256/RS256 public keys chosen
/// by the token's `kid`) signs tokens, never both: a server that accepted both would let the
/// weaker key stand in for the one the deployment chose.
public struct AuthSettings: Sendable, Equatable {
    /// The HS256 secret; empty when `jwksPath` is set.
    public var jwtSecret: String
    /// The anon key (`anon_key`, `NIGHTSHIFT_ANON_KEY`): a token with role `anon` that clients may
    /// ship; required (the server refuses to listen beyond loopback with the development one).
    public var anonKey: String
    /// The service-role key (`service_role_key`, `NIGHTSHIFT_SERVICE_ROLE_KEY`): full access, for
    /// server-side callers only; required.
    public var serviceRoleKey: String
    /// A JWKS file of ES256 or RS256 public keys (relative to the working directory).
    public var jwksPath: String? = nil
    /// The JWKS file's text, read and checked for shape when the config loads.
    public var jwks: String? = nil
    /// How far `exp`, `nbf` and `iat` may be off the server's clock.
    public var leeway: Duration = .seconds(30)
    /// The `iss` user tokens must carry (Supabase: `https://<project-ref>.supabase.co/auth/v1`).
    public var issuer: String? = nil
    /// A value the `aud` of user tokens must contain (Supabase: `authenticated`).
    public var audience: String? = nil
    /// Whether the engine may send a service token to a URL that is not on loopback.
    public var allowRemoteServiceToken: Bool = false

    /// Settings as `[auth]` spells them. The loader checks them (`jwt_secret` or `jwks_path`, not
    /// both; a secret of 32 characters or more; both keys present); this initializer does not.
    public init(
        jwtSecret: String, anonKey: String, serviceRoleKey: String, jwksPath: String? = nil, jwks: String? = nil,
        leeway: Duration = .seconds(30), issuer: String? = nil, audience: String? = nil, allowRemoteServiceToken: Bool = false
    ) {
        self.jwtSecret = jwtSecret
        self.anonKey = anonKey
        self.serviceRoleKey = serviceRoleKey
        self.jwksPath = jwksPath
        self.jwks = jwks
        self.leeway = leeway
        self.issuer = issuer
        self.audience = audience
        self.allowRemoteServiceToken = allowRemoteServiceToken
    }

    /// Whether tokens are signed with a key pair whose private half lives elsewhere.
    public var usesJWKS: Bool { jwksPath != nil }
}
