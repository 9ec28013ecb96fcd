import Foundation

extension AuthSettings {
    /// Reads `[auth]`; the keys the section lacks keep their defaults.
    static func read(_ section: inout TOMLSection?) throws -> AuthSettings {
        var auth = AuthSettings(
            jwtSecret: try section?.string("jwt_secret") ?? "",
            anonKey: try section?.string("anon_key") ?? "",
            serviceRoleKey: try section?.string("service_role_key") ?? "")
        auth.jwksPath = try section?.string("jwks_path")
        // Enough for clocks that drift between hosts, short of letting an expired token live on.
        if let leeway = try section?.duration("leeway", range: .zero...Duration.seconds(300)) { auth.leeway = leeway }
        auth.issuer = try section?.string("issuer")
        auth.audience = try section?.string("audience")
        if let allow = try section?.bool("allow_remote_service_token") { auth.allowRemoteServiceToken = allow }
        try section?.rejectUnknownKeys()
        return auth
    }
}

extension NightshiftConfig {
    /// Reads the JWKS file named by `auth.jwks_path` (after the environment had its say), so
    /// that a missing or malformed file stops start-up here, naming the key and the file.
    mutating func loadJWKS() throws {
        guard let path = auth.jwksPath else { return }
        func fail(_ problem: String) -> ConfigError {
            ConfigError(key: "auth.jwks_path", source: source, problem: "\"\(path)\" \(problem)")
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw fail("cannot be read: \(error.localizedDescription)")
        }
        // The shape only: which algorithm each key is for, and whether its numbers make a key,
        // is the verifier's to decide (NightshiftServer.checkedAuthenticator).
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw fail("is not a JSON object")
        }
        guard let keys = object["keys"] as? [[String: Any]], !keys.isEmpty else {
            throw fail("must hold a non-empty \"keys\" array of JWKs")
        }
        for (index, key) in keys.enumerated() {
            guard let kid = key["kid"] as? String, !kid.isEmpty else {
                throw fail("key \(index + 1) has no \"kid\": tokens choose their key by kid")
            }
        }
        auth.jwks = text
    }

    /// `[auth]` rules no single key can check.
    func validateAuth() throws {
        func fail(_ key: String, _ problem: String) -> ConfigError {
            ConfigError(key: key, source: source, problem: problem)
        }
        if auth.usesJWKS {
            if !auth.jwtSecret.isEmpty {
                throw fail(
                    "auth.jwt_secret",
                    "must not be set together with auth.jwks_path: tokens are then verified with the JWKS keys only (remove one of them)")
            }
        } else if auth.jwtSecret.isEmpty {
            throw fail("auth.jwt_secret", "is missing (set it in the file or NIGHTSHIFT_JWT_SECRET, or set auth.jwks_path)")
        } else if auth.jwtSecret.utf8.count < 32 {
            throw fail("auth.jwt_secret", "must be at least 32 characters for HS256")
        }
        if auth.anonKey.isEmpty {
            throw fail("auth.anon_key", "is missing (set it in the file or NIGHTSHIFT_ANON_KEY)")
        }
        if auth.serviceRoleKey.isEmpty {
            throw fail("auth.service_role_key", "is missing (set it in the file or NIGHTSHIFT_SERVICE_ROLE_KEY)")
        }
        if auth.issuer?.isEmpty == true { throw fail("auth.issuer", "must not be empty (leave it out to accept any issuer)") }
        if auth.audience?.isEmpty == true { throw fail("auth.audience", "must not be empty (leave it out to accept any audience)") }
    }
}
