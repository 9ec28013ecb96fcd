import Config
import Foundation
import JWTKit
import Server

/// Tokens no well-behaved signer makes, and the asymmetric keys of the JWKS tests.
enum TokenFixture {
    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// `{"alg": "none"}` with the claims and an empty signature: the classic forgery.
    static func unsigned(_ claims: String) -> String {
        base64URL(Data(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + base64URL(Data(claims.utf8)) + "."
    }

    /// The base64url-decoded payload of a token, as the server hands it on.
    static func payload(of token: String) -> String {
        var base64 = String(token.split(separator: ".")[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return String(decoding: Data(base64Encoded: base64)!, as: UTF8.self)
    }

    /// A 2048-bit RSA key for tests only (openssl genrsa 2048 | openssl pkcs8 -topk8 -nocrypt).
    static let rsaPEM = """
        -----BEGIN PRIVATE KEY-----
        MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCvQ+d+fedl+vbQ
        N5r8yDJ/FHaagXmCcKhZHagbeKgaNXtNhtkPR66ev+T8iBquzXuVih6TUMLhnc3R
        ZSBuT4TXRzv0h8Jd3sVn3BuRuUls5nIedXAyE/7MNo71s3kKyzUfX64y29mT8QD+
        UPn6LvP+252E7zvSwBOStH0tYrzy/atG1u4c0OboOEQsXovxN3aAArdOweRSWOCE
        Wi7I7OrpeFbR0xrnzPV6z5dpThmNyRMlnRheIzJp6LvoX4HvmRUV/HYqdtef2Yrz
        cwGupKStuSmpCPkPOJsylRmHAkM83QQlgrX7op/+UWek8gRlryIXrG++gqfcOilX
        TG7AVPFBAgMBAAECggEAAp/qe3euG4746bJ0XrsujmjcYA9MF/yJ6qWCt4d9mIfF
        nfFE6/+MCVmu/sC1QuvHva3kZOHvSvkAWCr7o67SSQPuMOyA4PyNnySp67Jqwr7Z
        LKhDkt4xH2vIaPVUGUZIOGCdcHHDhSg1We74u9PbEZD/RsiyYd+yR8lf8aMN5uNr
        6aI0otltolLuzRnfLOMljfHAECsH8HVakwi15rJjI+aYZXLeQgMASbsIFxs/b5Er
        Sh/MxIy0hloSdU8M5iC3OwnY3Jl/GVwJzY2uGdgBldejRLawzUi3vLEitX2zThjx
        YRg8c7ox/zvBOjZdtPkjZE2aFeaT/5ko3iBso+3mZQKBgQDpQOpQEB19FQKvH2dd
        8Z9lmTHb28skFw1dZU6VcjzYlR1hwE89miu5paB5qRFquwgWVjMHeVdLvEnHc3jj
        ZJ7V7uzaH4CVf3yMDVsn3DU8Tl4ADLMVlKbz6pASop3QWfQDt/GTrcQRtmUzdtpP
        HKLY4A0puxNwBRv3kvQIfOYcbwKBgQDAW1VCgmjrPMJ2D0+8OBVT8VgHQzShAYs8
        TbC6RahvDjNKQ8JeZHVOMMV+Zk3Qm1sfmW0UTzY3qyz1moDHkHCTF1x/Fse7xf1m
        H8H6z+LCzrwM2wjkrHTtMg4q7XGo7tgYu/oq+rlxiODs69u8adaaSAcaNMNSZmTR
        h35Pn3wFTwKBgBk5Mt1rkLTJA9xKKhRnn5QOB+09jG8fqwtRfDj+/INzRJUghbEk
        rdvKhFsDpGWFSi+YLLZ/Mah3+QZ/fzAf3mlGCAjiZTZFbgN7IkNiNcOKufGJbghE
        ZfV0hRXuzeANCi0oxA/zN4Ou1KzHCn6JmzaWq/W6TDTN6KNSGd+dGgkzAoGAf1a3
        HX1paXjinvdJ6KcT72sQxFYILCHyg6xGtzlP5Jz49UvgC07jnSyKQUAGeXevHj8a
        R9ycXsPx0nFCmVoUPDu13ug8tyC9vHJ/nsMqMZ5cPQJvY7qK+U8us9pWaOgcpFsk
        pHkwdGmRxSXqZFOIXsAZ+448U3s3eMICq0E//98CgYAIIpytxfyIcAFX7dA+9qY2
        XtfaIgbOfzYe527q9z55FsBQlS47lwBHa2b8lmj/EVDbv6IzhQwr5XrJQmwYqRoo
        txFAstjGyPw1ZiVbls2Z1lTLeIcqHGHMXeFe5WCdI+N6r/2CLI3FeaZUJPqX0jPA
        kGvzGw8EtKVXzeMjLMy9og==
        -----END PRIVATE KEY-----
        """

    static func rsaKey() throws -> Insecure.RSA.PrivateKey {
        try Insecure.RSA.PrivateKey(pem: rsaPEM)
    }

    /// The public JWK of an ES256 key.
    static func jwk(es256 key: ES256PrivateKey, kid: String, alg: String? = "ES256") -> [String: String] {
        let parameters = key.publicKey.parameters!
        var jwk = ["kty": "EC", "crv": "P-256", "x": parameters.x, "y": parameters.y, "kid": kid, "use": "sig"]
        jwk["alg"] = alg
        return jwk
    }

    /// The public JWK of an RSA key.
    static func jwk(rsa key: Insecure.RSA.PrivateKey, kid: String, alg: String? = "RS256") throws -> [String: String] {
        let primitives = try key.publicKey.getKeyPrimitives()
        var jwk = ["kty": "RSA", "n": base64URL(primitives.modulus), "e": base64URL(primitives.publicExponent), "kid": kid]
        jwk["alg"] = alg
        return jwk
    }

    /// Writes `{"keys": [...]}` to a fresh temporary file and returns its path.
    static func writeJWKS(_ keys: [[String: String]]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("jwks-\(UUID().uuidString).json").path
        let data = try JSONSerialization.data(withJSONObject: ["keys": keys], options: [.sortedKeys])
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A signer holding the private halves: an ES256 key as `es-1`, the RSA key as `rs-1`.
    struct Issuer: Sendable {
        let es256: ES256PrivateKey
        let keys: JWTKeyCollection

        init() async throws {
            es256 = ES256PrivateKey()
            keys = JWTKeyCollection()
            await keys.add(ecdsa: es256, kid: "es-1")
            await keys.add(rsa: try TokenFixture.rsaKey(), digestAlgorithm: .sha256, kid: "rs-1")
        }

        /// The JWKS file of both public keys.
        func jwksPath() throws -> String {
            try TokenFixture.writeJWKS([TokenFixture.jwk(es256: es256, kid: "es-1"), TokenFixture.jwk(rsa: TokenFixture.rsaKey(), kid: "rs-1")])
        }

        func sign(_ claims: AuthClaims, kid: String) async throws -> String {
            try await keys.sign(claims, kid: JWKIdentifier(string: kid))
        }

        /// A server config verifying with the JWKS at `jwksPath`, its project keys signed by `es-1`.
        func config(jwksPath: String, auth: String = "") async throws -> NightshiftConfig {
            let later = ExpirationClaim(value: Date().addingTimeInterval(86400))
            let anon = try await sign(AuthClaims(role: "anon", exp: later), kid: "es-1")
            let service = try await sign(AuthClaims(role: "service_role", exp: later), kid: "rs-1")
            return try NightshiftConfig.parse("""
                project_id = "server-tests"
                [auth]
                jwks_path = "\(jwksPath)"
                anon_key = "\(anon)"
                service_role_key = "\(service)"
                \(auth)
                """, source: "jwks-tests.toml")
        }
    }
}
