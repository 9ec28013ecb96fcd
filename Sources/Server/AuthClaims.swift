import Foundation
import JWTKit

/// The claims Nightshift reads from a token: Supabase's `role`, `sub`, `app_metadata.role`, and
/// the registered `exp`, `nbf`, `iat`, `iss` and `aud`.
public struct AuthClaims: JWTPayload, Equatable {
    /// `app_metadata`: claims the application (not the user) controls.
    public struct AppMetadata: Codable, Sendable, Equatable {
        /// The application's role for the caller (`app_metadata.role`, such as `super_admin`); nil
        /// for most users. Only a signed-in user's counts (``Principal/isSuperAdmin``).
        public var role: String?

        /// Metadata with `role`, or none.
        public init(role: String? = nil) {
            self.role = role
        }
    }

    /// Supabase's role: `anon`, `authenticated` or `service_role`; any other value is refused.
    public var role: String
    /// The user id; required of `authenticated` tokens.
    public var sub: SubjectClaim?
    /// Expiry, checked within ``TokenRules/leeway`` whenever present; required of `authenticated` tokens.
    public var exp: ExpirationClaim?
    /// Not valid before this instant (within the leeway), when present.
    public var nbf: NotBeforeClaim?
    /// Issue time; a token issued in the future (beyond the leeway) is refused.
    public var iat: IssuedAtClaim?
    /// The issuer; an `authenticated` token's must equal `[auth] issuer` when one is configured.
    public var iss: IssuerClaim?
    /// A string or an array in the token; both decode.
    public var aud: AudienceClaim?
    /// `app_metadata`, when the token has it.
    public var appMetadata: AppMetadata?

    /// Claims for a token this process signs (project keys, service tokens, tests); `appRole`
    /// becomes `app_metadata.role`, the dates become NumericDate claims.
    public init(
        role: String, sub: String? = nil, exp: ExpirationClaim? = nil, iss: String? = nil, appRole: String? = nil,
        aud: [String]? = nil, iat: Date? = nil, nbf: Date? = nil
    ) {
        self.role = role
        self.sub = sub.map(SubjectClaim.init(value:))
        self.exp = exp
        self.iss = iss.map(IssuerClaim.init(value:))
        self.appMetadata = appRole.map { AppMetadata(role: $0) }
        self.aud = aud.map(AudienceClaim.init(value:))
        self.iat = iat.map(IssuedAtClaim.init(value:))
        self.nbf = nbf.map(NotBeforeClaim.init(value:))
    }

    enum CodingKeys: String, CodingKey {
        case role, sub, exp, nbf, iat, iss, aud
        case appMetadata = "app_metadata"
    }

    /// Checks nothing: the time, issuer and audience checks need the deployment's leeway,
    /// issuer and audience, so `Authenticator` applies `TokenRules` right after the signature
    /// verifies. Checking `exp` here too would refuse tokens the configured leeway accepts.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}
