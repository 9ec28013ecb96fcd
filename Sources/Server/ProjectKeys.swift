import Foundation
import JWTKit

/// A fresh project secret and the anon and service-role keys signed with it, as Supabase hands
/// them out: HS256, `iss` the project id, issued now, expiring in ten years.
public struct ProjectKeys: Sendable, Equatable {
    /// The HS256 secret (`[auth] jwt_secret`); whoever holds it can sign any token.
    public let jwtSecret: String
    /// The anon key: safe to ship in a client, it carries role `anon`.
    public let anonKey: String
    /// The service-role key: full access, for trusted server-side callers only.
    public let serviceRoleKey: String

    /// Ten years of 365.25 days: the lifetime of Supabase's own anon and service keys.
    public static let lifetime: TimeInterval = 10 * 365.25 * 86_400

    /// 48 random bytes, base64url: 64 characters, well past HS256's 32.
    public static func generate(projectID: String, now: Date = Date()) async throws -> ProjectKeys {
        // SystemRandomNumberGenerator is the platform's cryptographically secure source
        // (getrandom on Linux, arc4random on Darwin).
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<48).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let secret = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let authenticator = await Authenticator(secret: secret)
        // Whole seconds, as every other JWT issuer writes them.
        let issuedAt = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        func key(_ role: Principal.Role) async throws -> String {
            try await authenticator.sign(AuthClaims(
                role: role.rawValue, exp: ExpirationClaim(value: issuedAt.addingTimeInterval(lifetime)), iss: projectID,
                iat: issuedAt))
        }
        return ProjectKeys(jwtSecret: secret, anonKey: try await key(.anon), serviceRoleKey: try await key(.serviceRole))
    }

    /// `NAME=value` lines for an env file; the variables override `[auth]` of the config file.
    public var environmentLines: String {
        """
        NIGHTSHIFT_JWT_SECRET=\(jwtSecret)
        NIGHTSHIFT_ANON_KEY=\(anonKey)
        NIGHTSHIFT_SERVICE_ROLE_KEY=\(serviceRoleKey)
        """
    }
}
