import HTTPTypes
import Hummingbird
import JWTKit

/// Verifies HS256 tokens signed with the project's JWT secret, read from
/// `Authorization: Bearer <token>` or, failing that, the `apikey` header.
public struct Authenticator: Sendable {
    private let keys: JWTKeyCollection

    /// Keys are added once here; verifying afterwards only reads them.
    public init(secret: String) async {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.keys = keys
    }

    /// The caller, or nil when the request carries no token at all.
    /// A token that is present but invalid is an error, never anonymous access.
    public func principal(for request: Request) async throws(APIError) -> Principal? {
        guard let token = try Self.token(in: request) else { return nil }
        return try await principal(forToken: token)
    }

    /// Verifies one token and maps its claims to a principal.
    public func principal(forToken token: String) async throws(APIError) -> Principal {
        let claims: AuthClaims
        do {
            claims = try await keys.verify(token, as: AuthClaims.self)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure {
            throw .unauthorized("token has expired")
        } catch {
            throw .unauthorized("token is invalid: signature, algorithm or claims do not verify")
        }
        guard let role = Principal.Role(rawValue: claims.role) else {
            throw .unauthorized("token role \"\(claims.role)\" is not one of anon, authenticated, service_role")
        }
        if role == .authenticated, (claims.sub?.value ?? "").isEmpty {
            throw .unauthorized("an authenticated token must carry a sub claim")
        }
        return Principal(role: role, subject: claims.sub?.value, appRole: claims.appMetadata?.role)
    }

    /// Signs claims with the project secret (tests, the CLI's key minting).
    public func sign(_ claims: AuthClaims) async throws -> String {
        try await keys.sign(claims)
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
