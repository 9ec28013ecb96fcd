import Config
import HTTPTypes
import Hummingbird
import JWTKit

/// Verifies tokens read from `Authorization: Bearer <token>` or, failing that, the `apikey`
/// header: HS256 with the project secret, or ES256/RS256 with the keys of a JWKS.
///
/// In order: the JOSE header must name the configured algorithm (and, with a JWKS, a known
/// `kid`); the signature must verify; the claims must satisfy `rules`; the role must be one of
/// Supabase's three, and an `authenticated` token must carry a `sub`.
public struct Authenticator: Sendable {
    private let keys: SigningKeys
    /// The checks a verified signature must also pass (leeway, issuer, audience).
    public let rules: TokenRules

    /// HS256 tokens signed with `secret`. Keys are added once here; verifying only reads them.
    public init(secret: String, rules: TokenRules = TokenRules()) async {
        self.keys = await SigningKeys.secret(secret)
        self.rules = rules
    }

    /// ES256/RS256 tokens signed by the private halves of the JWKS's public keys.
    public init(jwksJSON: String, rules: TokenRules = TokenRules()) async throws(JWKSError) {
        self.keys = try await SigningKeys.jwks(jwksJSON)
        self.rules = rules
    }

    /// What `[auth]` configures: the JWKS when `jwks_path` is set, else the secret.
    public init(settings: AuthSettings) async throws(JWKSError) {
        if settings.usesJWKS {
            guard let jwks = settings.jwks else { throw JWKSError("was not read: load the config with NightshiftConfig.load or parse") }
            try await self.init(jwksJSON: jwks, rules: TokenRules(settings))
        } else {
            await self.init(secret: settings.jwtSecret, rules: TokenRules(settings))
        }
    }

    /// The config key whose key material verifies tokens (`auth.jwt_secret` or `auth.jwks_path`).
    public var keySource: String { keys.name }

    /// The caller, or nil when the request carries no token at all.
    /// A token that is present but invalid is an error, never anonymous access.
    public func principal(for request: Request) async throws(APIError) -> Principal? {
        guard let token = try Self.token(in: request) else { return nil }
        return try await principal(forToken: token)
    }

    /// Verifies one token and maps its claims to a principal.
    public func principal(forToken token: String) async throws(APIError) -> Principal {
        let jwt = try CompactJWT(token)
        try keys.check(jwt.header)
        let claims: AuthClaims
        do {
            claims = try await keys.collection.verify(token, as: AuthClaims.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw .unauthorized("token signature does not verify with \(keys.name)")
        } catch let error as JWTError where error.errorType == .malformedToken {
            throw .unauthorized("token claims are malformed: role must be a string; exp, nbf and iat numbers; aud a string or an array")
        } catch {
            throw .unauthorized("token is invalid: signature, algorithm or claims do not verify")
        }
        guard let role = Principal.Role(rawValue: claims.role) else {
            throw .unauthorized("token role \"\(claims.role.prefix(64))\" is not one of anon, authenticated, service_role")
        }
        try rules.check(claims, role: role)
        if role == .authenticated, (claims.sub?.value ?? "").isEmpty {
            throw .unauthorized("an authenticated token must carry a sub claim")
        }
        return Principal(role: role, subject: claims.sub?.value, appRole: claims.appMetadata?.role, claimsJSON: jwt.payloadJSON)
    }

    /// Signs claims with the project secret (tests, the CLI's key minting). With a JWKS the
    /// private keys live with whoever issues tokens, so there is nothing to sign with.
    public func sign(_ claims: AuthClaims) async throws -> String {
        guard case .secret = keys.kind else {
            throw JWKSError("holds public keys only: tokens are signed where the private keys are")
        }
        return try await keys.collection.sign(claims)
    }

    private static func token(in request: Request) throws(APIError) -> String? {
        if let authorization = request.headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
                throw .unauthorized("Authorization header must be \"Bearer <token>\"")
            }
            return String(parts[1]).trimmingCharacters(in: .whitespaces)
        }
        if let apiKey = request.headers[HTTPField.Name("apikey")!], !apiKey.isEmpty {
            return apiKey
        }
        return nil
    }
}
