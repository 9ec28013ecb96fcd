import Config
import Foundation
import Server
import ServiceTokens
import Testing

/// `nightshift keys generate`, and the short-lived service tokens the engine sends.
@Suite("project keys and service tokens")
struct ProjectKeysTests {
    /// The claims of a token as a dictionary.
    static func claims(_ token: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(TokenFixture.payload(of: token).utf8)) as? [String: Any] ?? [:]
    }

    @Test("keys generate: env lines whose secret is random and long, and whose keys verify with checkedAuthenticator")
    func generate() async throws {
        let keys = try await ProjectKeys.generate(projectID: "acme")
        let lines = keys.environmentLines.split(separator: "\n").map(String.init)
        #expect(lines.map { $0.prefix { $0 != "=" } } == ["NIGHTSHIFT_JWT_SECRET", "NIGHTSHIFT_ANON_KEY", "NIGHTSHIFT_SERVICE_ROLE_KEY"])
        #expect(keys.jwtSecret.utf8.count >= 43, "at least 32 bytes of base64url")
        #expect(keys.jwtSecret.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(try await ProjectKeys.generate(projectID: "acme").jwtSecret != keys.jwtSecret)

        // The lines as an env file would hand them to the config.
        let environment = Dictionary(uniqueKeysWithValues: lines.map { line in
            let parts = line.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), String(parts[1]))
        })
        let config = try NightshiftConfig.parse("project_id = \"acme\"\n", source: "keys.toml", environment: environment)
        let authenticator = try await NightshiftServer.checkedAuthenticator(config: config)
        #expect(try await authenticator.principal(forToken: keys.serviceRoleKey).role == .serviceRole)

        let anon = try Self.claims(keys.anonKey)
        #expect(anon["iss"] as? String == "acme" && anon["role"] as? String == "anon")
        let lifetime = try #require(anon["exp"] as? Double) - (try #require(anon["iat"] as? Double))
        #expect(lifetime == ProjectKeys.lifetime, "ten years, like Supabase's keys")
    }

    @Test("a minted service token verifies as service_role, names the project and lives 60 s")
    func minted() async throws {
        let config = try await testConfig()
        let credential = ServiceCredential(auth: config.auth, projectID: config.projectID)
        let token = try await credential.bearer(for: "http://127.0.0.1:54321/functions/v1/detect-overdue-commitments")
        #expect(token != config.auth.serviceRoleKey)
        let authenticator = try await NightshiftServer.checkedAuthenticator(config: config)
        #expect(try await authenticator.principal(forToken: token).role == .serviceRole)
        let claims = try Self.claims(token)
        #expect(claims["iss"] as? String == "server-tests")
        #expect((claims["exp"] as? Double).map { $0 - (claims["iat"] as? Double ?? 0) } == 60)
    }

    @Test("no service token goes off loopback unless allowed; the long-lived key (JWKS) never does")
    func loopbackOnly() async throws {
        let remote = "http://api.example.com:54321/functions/v1/detect-overdue-commitments"
        var auth = try await testConfig().auth
        await #expect { try await ServiceCredential(auth: auth, projectID: "p").bearer(for: remote) } throws: { error in
            (error as? ServiceCredentialError)?.message.contains("allow_remote_service_token") == true
        }
        auth.allowRemoteServiceToken = true
        #expect(try await ServiceCredential(auth: auth, projectID: "p").bearer(for: remote) != auth.serviceRoleKey)

        auth.jwksPath = "/keys.json"
        auth.jwtSecret = ""
        let jwks = ServiceCredential(auth: auth, projectID: "p")
        #expect(try await jwks.bearer(for: "http://[::1]:54321/x") == auth.serviceRoleKey)
        await #expect { try await jwks.bearer(for: remote) } throws: { error in
            (error as? ServiceCredentialError)?.message.contains("auth.service_role_key") == true
        }
    }

    @Test("loopback is localhost, 127.0.0.0/8 and ::1, read from the URL alone", arguments: [
        ("http://127.0.0.1:1/x", true), ("http://127.8.9.10/x", true), ("http://localhost:54321", true), ("http://[::1]:80/", true),
        ("http://0.0.0.0:80/", false), ("http://10.0.0.1/", false), ("http://127.0.0.1.example.com/", false),
        ("http://localhost.example.com/", false), ("not a url", false),
    ])
    func loopback(url: String, expected: Bool) {
        #expect(LoopbackURL.isLoopback(url) == expected)
    }
}
