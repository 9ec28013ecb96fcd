import Foundation
import JWTKit

/// The claims Nightshift reads from a token: Supabase's `role`, `sub`, `app_metadata.role`, and
/// the registered `exp`, `nbf`, `iat`, `iss` and `aud`.
public struct AuthClaims: JWTPayload, Equatable {
    /// `app_metadata`: claims the application (not the user) controls.
    public struct AppMetadata: Codable, Sendable, Equatable {
        public var role: String?

        public init(role: String? = nil) {
            self.role = role
        }
    }

    public var role: String
    public var sub: SubjectClaim?
    public var exp: ExpirationClaim?
    public var nbf: NotBeforeClaim?
    public var iat: IssuedAtClaim?
    public var iss: IssuerClaim?
    /// A string or an array in the token; both decode.
    public var aud: AudienceClaim?
    public var appMetadata: AppMetadata?

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
