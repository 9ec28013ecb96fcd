import Foundation
import Testing

@testable import Config

/// `[auth]`: leeway, issuer, audience, the JWKS file and the remote service-token switch.
@Suite("[auth] tokens")
struct AuthConfigTests {
    /// `minimal` without its secret, for the JWKS cases.
    static let keysOnly = minimal.split(separator: "\n").filter { !$0.hasPrefix("jwt_secret") }.joined(separator: "\n")

    static func writeTemporary(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("jwks-\(UUID().uuidString).json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let jwks = #"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "x": "x", "y": "y"}]}"#

    @Test("defaults: 30 s leeway, no issuer or audience, HS256 with the secret, service tokens on loopback only")
    func defaults() throws {
        let auth = try NightshiftConfig.parseWithPacks(minimal, source: "test.toml").auth
        #expect(auth.leeway == .seconds(30))
        #expect(auth.issuer == nil && auth.audience == nil)
        #expect(auth.jwksPath == nil && auth.jwks == nil && !auth.usesJWKS)
        #expect(auth.allowRemoteServiceToken == false)
    }

    @Test("leeway, issuer, audience and allow_remote_service_token are read")
    func read() throws {
        let auth = try NightshiftConfig.parseWithPacks(minimal + """

            leeway = "5s"
            issuer = "https://abcdefghijklmnop.supabase.co/auth/v1"
            audience = "authenticated"
            allow_remote_service_token = true
            """, source: "test.toml").auth
        #expect(auth.leeway == .seconds(5))
        #expect(auth.issuer == "https://abcdefghijklmnop.supabase.co/auth/v1")
        #expect(auth.audience == "authenticated")
        #expect(auth.allowRemoteServiceToken)
    }

    @Test("a bad leeway names auth.leeway and the form or range", arguments: [
        (#"leeway = "30""#, "must be a duration"),
        (#"leeway = "half a minute""#, "must be a duration"),
        (#"leeway = "1h""#, "must be between"),
        ("leeway = 30", "must be a string"),
    ])
    func badLeeway(line: String, problem: String) {
        let error = parseError(minimal + "\n" + line + "\n")
        #expect(error?.key == "auth.leeway")
        #expect(error?.source == "test.toml")
        #expect(error?.problem.contains(problem) == true, "\(String(describing: error))")
    }

    @Test("an empty issuer or audience is refused rather than matching nothing", arguments: ["issuer", "audience"])
    func emptyIssuer(key: String) {
        #expect(parseError(minimal + "\n\(key) = \"\"\n")?.key == "auth.\(key)")
    }

    @Test("jwks_path reads the file; no secret is needed then")
    func jwksRead() throws {
        let path = try Self.writeTemporary(Self.jwks)
        let auth = try NightshiftConfig.parseWithPacks(Self.keysOnly + "\njwks_path = \"\(path)\"\n", source: "test.toml").auth
        #expect(auth.usesJWKS)
        #expect(auth.jwks == Self.jwks)
        let fromEnvironment = try NightshiftConfig.parseWithPacks(Self.keysOnly, source: "test.toml", environment: ["NIGHTSHIFT_JWKS_PATH": path]).auth
        #expect(fromEnvironment.jwksPath == path && fromEnvironment.jwks == Self.jwks)
    }

    @Test("a missing JWKS file names auth.jwks_path, the config file and the JWKS file")
    func jwksMissing() {
        let error = parseError(Self.keysOnly + "\njwks_path = \"/nonexistent/jwks.json\"\n")
        #expect(error?.key == "auth.jwks_path")
        #expect(error?.source == "test.toml")
        #expect(error?.problem.contains("/nonexistent/jwks.json") == true)
        #expect(error?.problem.contains("cannot be read") == true, "\(String(describing: error))")
    }

    @Test("a JWKS file of the wrong shape is refused, saying what is wrong", arguments: [
        ("not json", "is not a JSON object"),
        (#"{"keys": []}"#, "non-empty \"keys\" array"),
        (#"{"keys": [{"kty": "EC"}]}"#, "key 1 has no \"kid\""),
    ])
    func jwksShape(text: String, problem: String) throws {
        let path = try Self.writeTemporary(text)
        let error = parseError(Self.keysOnly + "\njwks_path = \"\(path)\"\n")
        #expect(error?.key == "auth.jwks_path")
        #expect(error?.problem.contains(path) == true)
        #expect(error?.problem.contains(problem) == true, "\(String(describing: error))")
    }

    @Test("jwt_secret and jwks_path together are refused: one signing scheme at a time")
    func secretAndJWKS() throws {
        let path = try Self.writeTemporary(Self.jwks)
        let error = parseError(minimal + "\njwks_path = \"\(path)\"\n")
        #expect(error?.key == "auth.jwt_secret")
        #expect(error?.problem.contains("auth.jwks_path") == true)
    }

    @Test("an unknown [auth] key is refused by name")
    func unknownKey() {
        let error = parseError(minimal + "\nalgorithm = \"HS512\"\n")
        #expect(error?.key == "auth.algorithm")
        #expect(error?.problem == "unknown key")
    }
}
