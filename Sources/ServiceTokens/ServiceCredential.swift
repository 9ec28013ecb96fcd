import Config

/// What the engine puts in `Authorization: Bearer …` when it calls an HTTP endpoint as the
/// service role, and where it may send it.
///
/// With `auth.jwt_secret`, a token minted per call that expires in 60 s. With `auth.jwks_path`
/// the private key is not here, so there is nothing to mint with: the long-lived
/// `auth.service_role_key` is sent instead, and only to loopback, whatever
/// `allow_remote_service_token` says, because that key is valid for years.
public struct ServiceCredential: Sendable {
    enum Source: Sendable {
        case minted(ServiceTokenMinter)
        case serviceRoleKey(String)
    }

    let source: Source
    let allowRemote: Bool

    /// The credential `[auth]` allows: minted tokens with `iss` `projectID` when a `jwt_secret`
    /// is configured, else the service-role key, loopback only.
    public init(auth: AuthSettings, projectID: String) {
        source = auth.usesJWKS
            ? .serviceRoleKey(auth.serviceRoleKey)
            : .minted(ServiceTokenMinter(secret: auth.jwtSecret, issuer: projectID))
        allowRemote = auth.allowRemoteServiceToken
    }

    /// The bearer token for one call to `url`, or an error saying why none may go there.
    public func bearer(for url: String) async throws -> String {
        let loopback = LoopbackURL.isLoopback(url)
        switch source {
        case .minted(let minter):
            guard loopback || allowRemote else {
                throw ServiceCredentialError(
                    "refusing to send a service token to \(url), which is not on loopback: set [auth] allow_remote_service_token = true to allow it")
            }
            return try await minter.mint()
        case .serviceRoleKey(let key):
            guard loopback else {
                throw ServiceCredentialError(
                    "refusing to send auth.service_role_key to \(url), which is not on loopback: with auth.jwks_path no short-lived token can be minted, and the long-lived key never leaves this machine")
            }
            return key
        }
    }
}

/// A service credential may not be sent where it was asked to go; retrying cannot change that.
public struct ServiceCredentialError: Error, CustomStringConvertible, Equatable {
    /// Where the credential was refused and what setting would allow it.
    public let message: String

    init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
