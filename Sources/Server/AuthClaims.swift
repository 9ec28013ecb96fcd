import JWTKit

/// The claims Nightshift reads from a token: Supabase's `role`, `sub`, `exp` and `app_metadata.role`.
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
    public var iss: IssuerClaim?
    public var appMetadata: AppMetadata?

    public init(role: String, sub: String? = nil, exp: ExpirationClaim? = nil, iss: String? = nil, appRole: String? = nil) {
        self.role = role
        self.sub = sub.map(SubjectClaim.init(value:))
        self.exp = exp
        self.iss = iss.map(IssuerClaim.init(value:))
        self.appMetadata = appRole.map { AppMetadata(role: $0) }
    }

    enum CodingKeys: String, CodingKey {
        case role, sub, exp, iss
        case appMetadata = "app_metadata"
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp?.verifyNotExpired()
    }
}
