import Foundation
import JWTKit

/// Mints short-lived service-role tokens with the project secret (HS256): what the engine sends
/// when it calls the project's own API, so that a token caught in flight or in a log is useless
/// a minute later, unlike the ten-year service-role key.
public struct ServiceTokenMinter: Sendable {
    let secret: String
    let issuer: String
    /// How long each token is valid: 60 s unless given, long enough for one call and its retries
    /// by libcurl, short enough that a leaked token is soon worthless.
    public let lifetime: Duration

    /// Mints with the HS256 `secret` (`[auth] jwt_secret`), naming `issuer` (the project id) as `iss`.
    public init(secret: String, issuer: String, lifetime: Duration = .seconds(60)) {
        self.secret = secret
        self.issuer = issuer
        self.lifetime = lifetime
    }

    /// A token with `role` service_role, `iss` the project id, `iat` now and `exp` a lifetime later.
    public func mint(now: Date = Date()) async throws -> String {
        // A fresh collection per token: an HMAC key costs nothing to set up, and the minter stays a
        // plain value that a job's closure can capture.
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        let issuedAt = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        return try await keys.sign(ServiceClaims(
            role: "service_role", iss: IssuerClaim(value: issuer), iat: IssuedAtClaim(value: issuedAt),
            exp: ExpirationClaim(value: issuedAt.addingTimeInterval(Double(lifetime.components.seconds)))))
    }
}

/// The claims of a minted service token.
struct ServiceClaims: JWTPayload {
    let role: String
    let iss: IssuerClaim
    let iat: IssuedAtClaim
    let exp: ExpirationClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}
