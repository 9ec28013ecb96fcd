import Config
import Foundation
import JWTKit

/// What a correctly signed token must also satisfy: its time claims within the clock leeway,
/// and, for user tokens, the configured issuer and audience.
public struct TokenRules: Sendable, Equatable {
    /// How far `exp`, `nbf` and `iat` may be off this server's clock.
    public var leeway: Duration
    /// The `iss` a user token must carry; nil accepts any.
    public var issuer: String?
    /// A value a user token's `aud` (string or array) must contain; nil accepts any.
    public var audience: String?

    /// Rules with a 30 s clock leeway and no issuer or audience check unless given.
    public init(leeway: Duration = .seconds(30), issuer: String? = nil, audience: String? = nil) {
        self.leeway = leeway
        self.issuer = issuer
        self.audience = audience
    }

    /// The rules `[auth]` configures (`leeway`, `issuer`, `audience`).
    public init(_ auth: AuthSettings) {
        self.init(leeway: auth.leeway, issuer: auth.issuer, audience: auth.audience)
    }

    /// Refuses claims that break a rule, saying which. `exp` is required of user tokens only:
    /// the anon and service keys are long-lived project keys (Supabase's carry an exp, which is
    /// then checked). Issuer and audience apply to user tokens only, because the auth server
    /// issues those, while the project keys carry their own (`"iss": "supabase"`, no aud).
    func check(_ claims: AuthClaims, role: Principal.Role, now: Date = Date()) throws(APIError) {
        let slack = Double(leeway.components.seconds) + Double(leeway.components.attoseconds) / 1e18
        if let exp = claims.exp?.value {
            guard now < exp.addingTimeInterval(slack) else {
                throw .unauthorized("token has expired (exp \(Self.format(exp)), beyond the \(leeway) leeway)")
            }
        } else if role == .authenticated {
            throw .unauthorized("an authenticated token must carry an exp claim")
        }
        if let nbf = claims.nbf?.value, nbf > now.addingTimeInterval(slack) {
            throw .unauthorized("token is not valid yet (nbf \(Self.format(nbf)), beyond the \(leeway) leeway)")
        }
        if let iat = claims.iat?.value, iat > now.addingTimeInterval(slack) {
            throw .unauthorized("token was issued in the future (iat \(Self.format(iat)), beyond the \(leeway) leeway)")
        }
        guard role == .authenticated else { return }
        if let issuer {
            guard let iss = claims.iss?.value else {
                throw .unauthorized("token has no iss claim; this server accepts issuer \"\(issuer)\"")
            }
            guard iss == issuer else {
                throw .unauthorized("token issuer \"\(iss.prefix(200))\" is not the configured issuer \"\(issuer)\"")
            }
        }
        if let audience {
            guard let aud = claims.aud?.value else {
                throw .unauthorized("token has no aud claim; this server accepts audience \"\(audience)\"")
            }
            guard aud.contains(audience) else {
                let named = aud.prefix(5).map { "\"\($0.prefix(100))\"" }.joined(separator: ", ")
                throw .unauthorized("token audience [\(named)] does not include the configured audience \"\(audience)\"")
            }
        }
    }

    private static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
