import Config
import Foundation
import JWTKit
import Server
import Testing

/// `[auth] jwks_path`: ES256 and RS256 public keys, chosen by the token's `kid`.
@Suite("JWKS verification")
struct JWKSTests {
    static let user = "00000000-0000-4000-8000-0000000000d1"
    static let soon = ExpirationClaim(value: Date().addingTimeInterval(600))

    @Test("ES256 and RS256 user tokens verify by kid; the project keys of the private key verify at start-up")
    func accepted() async throws {
        let issuer = try await TokenFixture.Issuer()
        let config = try await issuer.config(jwksPath: try issuer.jwksPath())
        let es = try await issuer.sign(AuthClaims(role: "authenticated", sub: Self.user, exp: Self.soon), kid: "es-1")
        let rs = try await issuer.sign(AuthClaims(role: "authenticated", sub: Self.user, exp: Self.soon), kid: "rs-1")
        try await withServer(config: config) { client async throws in
            for token in [es, rs] {
                let reply = try await client.post("/functions/v1/open", token: token)
                #expect(reply.status == .ok)
                #expect(reply.data?["sub"] as? String == Self.user)
            }
            #expect(try await client.post("/functions/v1/hello", apikey: config.auth.anonKey, body: "{}").data?["role"] as? String == "anon")
        }
    }

    @Test("an unknown kid, a missing kid, an alg other than the key's, or an HS256 token: 401 saying which")
    func refused() async throws {
        let issuer = try await TokenFixture.Issuer()
        let config = try await issuer.config(jwksPath: try issuer.jwksPath())
        let claims = AuthClaims(role: "authenticated", sub: Self.user, exp: Self.soon)
        // A key the server has never seen, under a kid it does not know.
        let stranger = JWTKeyCollection()
        await stranger.add(ecdsa: ES256PrivateKey(), kid: "rotated-away")
        let unknown = try await stranger.sign(claims, kid: "rotated-away")
        let noKid = try await JWTKeyCollection().add(ecdsa: issuer.es256).sign(claims)
        // The RSA key signs, but the header claims the EC key's kid.
        let mismatched = try await JWTKeyCollection().add(rsa: try TokenFixture.rsaKey(), digestAlgorithm: .sha256, kid: "es-1")
            .sign(claims, kid: "es-1")
        let hs256 = try await token(role: "authenticated", sub: Self.user)
        try await withServer(config: config) { client async throws in
            let cases: [(String, String)] = [
                (unknown, #"kid "rotated-away" is not a key of the configured JWKS"#),
                (noKid, "no kid"),
                (mismatched, #"algorithm "RS256" is not accepted: key "es-1" verifies ES256"#),
                (hs256, "no kid"),
            ]
            for (token, message) in cases {
                let reply = try await client.post("/functions/v1/hello", token: token, body: "{}")
                #expect(reply.status == .unauthorized)
                #expect(reply.errorMessage?.contains(message) == true, "\(reply.errorMessage ?? "no message")")
            }
        }
    }

    @Test("a forged signature under a known kid: 401")
    func forged() async throws {
        let issuer = try await TokenFixture.Issuer()
        let config = try await issuer.config(jwksPath: try issuer.jwksPath())
        let impostor = JWTKeyCollection()
        await impostor.add(ecdsa: ES256PrivateKey(), kid: "es-1")
        let token = try await impostor.sign(AuthClaims(role: "service_role", exp: Self.soon), kid: "es-1")
        try await withServer(config: config) { client async throws in
            let reply = try await client.post("/functions/v1/hello", token: token, body: "{}")
            #expect(reply.status == .unauthorized)
            #expect(reply.errorMessage?.contains("signature does not verify with auth.jwks_path") == true, "\(reply.errorMessage ?? "")")
        }
    }

    @Test("start-up refuses a JWKS key it cannot use, naming auth.jwks_path, the file and the key")
    func unusableKeys() async throws {
        let issuer = try await TokenFixture.Issuer()
        var es384 = TokenFixture.jwk(es256: issuer.es256, kid: "es-1")
        es384["alg"] = "ES384"
        var privateKey = TokenFixture.jwk(es256: issuer.es256, kid: "es-1")
        privateKey["d"] = "AAAA"
        var badNumbers = TokenFixture.jwk(es256: issuer.es256, kid: "es-1")
        badNumbers["x"] = "AAAA"
        for (jwk, problem) in [
            (es384, "ES384"), (privateKey, "private key material"), (badNumbers, "does not make a usable ES256 public key"),
            (TokenFixture.jwk(es256: issuer.es256, kid: "es-1", alg: "RS256"), "says alg RS256 but its kty is EC"),
        ] {
            let path = try TokenFixture.writeJWKS([jwk, try TokenFixture.jwk(rsa: TokenFixture.rsaKey(), kid: "rs-1")])
            let config = try await issuer.config(jwksPath: path)
            await #expect { try await NightshiftServer.checkedAuthenticator(config: config) } throws: { error in
                guard let error = error as? ConfigError else { return false }
                return error.key == "auth.jwks_path" && error.problem.contains(path) && error.problem.contains(problem)
                    && error.problem.contains("es-1")
            }
        }
    }

    @Test("a JWK without alg gets ES256 from an EC P-256 key and RS256 from an RSA key")
    func inferredAlgorithm() async throws {
        let issuer = try await TokenFixture.Issuer()
        let path = try TokenFixture.writeJWKS([
            TokenFixture.jwk(es256: issuer.es256, kid: "es-1", alg: nil), try TokenFixture.jwk(rsa: TokenFixture.rsaKey(), kid: "rs-1", alg: nil),
        ])
        let authenticator = try await NightshiftServer.checkedAuthenticator(config: try await issuer.config(jwksPath: path))
        let rs = try await issuer.sign(AuthClaims(role: "authenticated", sub: Self.user, exp: Self.soon), kid: "rs-1")
        #expect(try await authenticator.principal(forToken: rs).subject == Self.user)
    }

    @Test("an anon key signed by another key stops start-up, naming the key and auth.jwks_path")
    func projectKeyOfAnotherIssuer() async throws {
        let issuer = try await TokenFixture.Issuer()
        var config = try await issuer.config(jwksPath: try issuer.jwksPath())
        config.auth.anonKey = try await TokenFixture.Issuer().sign(AuthClaims(role: "anon", exp: Self.soon), kid: "es-1")
        await #expect { try await NightshiftServer.checkedAuthenticator(config: config) } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == "auth.anon_key" && error.problem.contains("auth.jwks_path")
        }
    }

    @Test("with a JWKS the authenticator cannot sign: the private keys are elsewhere")
    func cannotSign() async throws {
        let issuer = try await TokenFixture.Issuer()
        let authenticator = try await Authenticator(settings: try await issuer.config(jwksPath: try issuer.jwksPath()).auth)
        await #expect(throws: JWKSError.self) { try await authenticator.sign(AuthClaims(role: "anon")) }
    }
}
