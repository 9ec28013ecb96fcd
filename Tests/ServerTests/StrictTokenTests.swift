import Config
import Foundation
import HTTPTypes
import JWTKit
import Server
import Testing

/// Issue 12 §2: a token must name the configured algorithm, carry sane time claims, and come
/// from the configured issuer for the configured audience. Each refusal is a 401 saying why.
@Suite("strict tokens")
struct StrictTokenTests {
    static let user = "00000000-0000-4000-8000-0000000000c1"

    /// What a call answered, as far as these tests look.
    struct Outcome: Sendable {
        let status: HTTPResponse.Status
        let errorCode: String?
        let errorMessage: String?
    }

    /// POSTs to `hello` (any role) with `token` on a fresh server and returns the answer.
    static func call(_ token: String, config: NightshiftConfig? = nil) async throws -> Outcome {
        try await withServer(config: config) { client async throws in
            let reply = try await client.post("/functions/v1/hello", token: token, body: "{}")
            return Outcome(status: reply.status, errorCode: reply.errorCode, errorMessage: reply.errorMessage)
        }
    }

    static func expectRefused(_ reply: Outcome, saying words: String..., sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == .unauthorized, sourceLocation: sourceLocation)
        #expect(reply.errorCode == "unauthorized", sourceLocation: sourceLocation)
        for word in words {
            #expect(reply.errorMessage?.contains(word) == true, "\(reply.errorMessage ?? "no message")", sourceLocation: sourceLocation)
        }
    }

    @Test("alg none: 401 naming the algorithm, even with valid-looking claims")
    func algNone() async throws {
        let exp = Int(Date().timeIntervalSince1970) + 3600
        let forged = TokenFixture.unsigned(#"{"role":"service_role","exp":\#(exp)}"#)
        Self.expectRefused(try await Self.call(forged), saying: #"algorithm "none" is not accepted"#, "HS256")
    }

    @Test("HS384: 401, HS256 is the configured algorithm")
    func hs384() async throws {
        // jwt-kit wants an HS384 key of at least 48 bytes; the test secret is shorter.
        let hs384 = try await token(role: "anon", secret: testSecret + "-padded-to-48-bytes", digest: .sha384)
        Self.expectRefused(try await Self.call(hs384), saying: #"algorithm "HS384" is not accepted"#)
    }

    @Test("RS256 against an HS256 server: 401 before any key is tried")
    func rs256WithSecret() async throws {
        let keys = JWTKeyCollection()
        await keys.add(rsa: try TokenFixture.rsaKey(), digestAlgorithm: .sha256)
        let token = try await keys.sign(AuthClaims(role: "anon", exp: ExpirationClaim(value: Date().addingTimeInterval(600))))
        Self.expectRefused(try await Self.call(token), saying: #"algorithm "RS256" is not accepted"#)
    }

    @Test("an authenticated token without exp: 401; anon and service keys may leave it out")
    func expRequiredOfUsers() async throws {
        let user = try await token(role: "authenticated", sub: Self.user, expires: nil)
        Self.expectRefused(try await Self.call(user), saying: "must carry an exp claim")
        #expect(try await Self.call(try await token(role: "anon", expires: nil)).status == .ok)
        #expect(try await Self.call(try await token(role: "service_role", expires: nil)).status == .ok)
    }

    @Test("expired beyond the 30 s leeway: 401; expired within it: accepted")
    func expiry() async throws {
        let old = try await token(role: "authenticated", sub: Self.user, expires: Date().addingTimeInterval(-45))
        Self.expectRefused(try await Self.call(old), saying: "token has expired")
        let justNow = try await token(role: "authenticated", sub: Self.user, expires: Date().addingTimeInterval(-10))
        #expect(try await Self.call(justNow).status == .ok)
        let anonOld = try await token(role: "anon", expires: Date().addingTimeInterval(-45))
        Self.expectRefused(try await Self.call(anonOld), saying: "token has expired")
    }

    @Test("leeway = \"0s\" refuses a token expired 10 s ago")
    func zeroLeeway() async throws {
        let config = try await testConfig(auth: #"leeway = "0s""#)
        let justNow = try await token(role: "authenticated", sub: Self.user, expires: Date().addingTimeInterval(-10))
        Self.expectRefused(try await Self.call(justNow, config: config), saying: "token has expired")
    }

    @Test("nbf in the future beyond leeway: 401; within leeway: accepted")
    func notBefore() async throws {
        let later = try await token(role: "authenticated", sub: Self.user, notBefore: Date().addingTimeInterval(120))
        Self.expectRefused(try await Self.call(later), saying: "not valid yet", "nbf")
        let soon = try await token(role: "authenticated", sub: Self.user, notBefore: Date().addingTimeInterval(10))
        #expect(try await Self.call(soon).status == .ok)
    }

    @Test("iat in the future beyond leeway: 401")
    func issuedInTheFuture() async throws {
        let future = try await token(role: "authenticated", sub: Self.user, issuedAt: Date().addingTimeInterval(120))
        Self.expectRefused(try await Self.call(future), saying: "issued in the future", "iat")
        let fine = try await token(role: "authenticated", sub: Self.user, issuedAt: Date().addingTimeInterval(-5))
        #expect(try await Self.call(fine).status == .ok)
    }

    static let supabase = """
        issuer = "https://abcdefghijklmnop.supabase.co/auth/v1"
        audience = "authenticated"
        """
    static let supabaseIssuer = "https://abcdefghijklmnop.supabase.co/auth/v1"

    @Test("with issuer configured, a user token of another or no issuer: 401 naming both")
    func issuer() async throws {
        let config = try await testConfig(auth: Self.supabase)
        let other = try await token(role: "authenticated", sub: Self.user, issuer: "https://evil.example/auth/v1", audience: ["authenticated"])
        Self.expectRefused(
            try await Self.call(other, config: config), saying: #"issuer "https://evil.example/auth/v1""#, Self.supabaseIssuer)
        let none = try await token(role: "authenticated", sub: Self.user, audience: ["authenticated"])
        Self.expectRefused(try await Self.call(none, config: config), saying: "no iss claim")
        let right = try await token(role: "authenticated", sub: Self.user, issuer: Self.supabaseIssuer, audience: ["authenticated"])
        #expect(try await Self.call(right, config: config).status == .ok)
    }

    @Test("with audience configured: a wrong or missing aud is 401; a string or an array holding it is accepted")
    func audience() async throws {
        let config = try await testConfig(auth: Self.supabase)
        let wrong = try await token(role: "authenticated", sub: Self.user, issuer: Self.supabaseIssuer, audience: ["dashboard"])
        Self.expectRefused(try await Self.call(wrong, config: config), saying: #""dashboard""#, #"audience "authenticated""#)
        let none = try await token(role: "authenticated", sub: Self.user, issuer: Self.supabaseIssuer)
        Self.expectRefused(try await Self.call(none, config: config), saying: "no aud claim")
        let array = try await token(role: "authenticated", sub: Self.user, issuer: Self.supabaseIssuer, audience: ["dashboard", "authenticated"])
        #expect(TokenFixture.payload(of: array).contains(#""aud":["dashboard","authenticated"]"#), "the token carries an array")
        #expect(try await Self.call(array, config: config).status == .ok)
        let string = try await token(role: "authenticated", sub: Self.user, issuer: Self.supabaseIssuer, audience: ["authenticated"])
        #expect(TokenFixture.payload(of: string).contains(#""aud":"authenticated""#), "the token carries a string")
        #expect(try await Self.call(string, config: config).status == .ok)
    }

    @Test("issuer and audience bind user tokens only: the project keys (Supabase's carry iss \"supabase\", no aud) still work")
    func projectKeysUnderIssuer() async throws {
        let config = try await testConfig(auth: Self.supabase)
        let service = try await token(role: "service_role", issuer: "supabase")
        #expect(try await Self.call(service, config: config).status == .ok)
        try await withServer(config: config) { client async throws in
            #expect(try await client.post("/functions/v1/hello", apikey: config.auth.anonKey, body: "{}").status == .ok)
        }
    }

    @Test("app_metadata.role super_admin on an anon or service token, or a user without sub: not a super admin, 403 on the admin route")
    func superAdminNeedsAUser() async throws {
        let anon = try await token(role: "anon", appRole: "super_admin")
        let service = try await token(role: "service_role", appRole: "super_admin")
        let body = #"{"institution_id": "20000000-0000-4000-8000-000000000001"}"#
        try await withServer { client async throws in
            for token in [anon, service] {
                let reply = try await client.post(AdminRoutesTests.path, token: token, body: body)
                #expect(reply.status == .forbidden)
                #expect(reply.errorMessage?.contains("super_admin") == true)
                #expect(try await client.post("/functions/v1/open", token: token).data?["superAdmin"] as? Bool == false)
            }
        }
        #expect(Principal(role: .authenticated, subject: nil, appRole: "super_admin").isSuperAdmin == false)
        #expect(Principal(role: .authenticated, subject: "", appRole: "super_admin").isSuperAdmin == false)
        #expect(Principal(role: .authenticated, subject: "u", appRole: "super_admin").isSuperAdmin)
    }

    @Test("the principal carries the payload exactly as signed, from Bearer and apikey alike")
    func claimsJSON() async throws {
        let user = try await token(role: "authenticated", sub: Self.user, appRole: "super_admin", issuedAt: Date())
        let config = try await testConfig()
        try await withServer(config: config) { client async throws in
            let bearer = try await client.post("/functions/v1/echo-claims", token: user, body: "{}")
            #expect(bearer.data?["claims"] as? String == TokenFixture.payload(of: user))
            let apikey = try await client.post("/functions/v1/echo-claims", apikey: config.auth.anonKey, body: "{}")
            #expect(apikey.data?["claims"] as? String == TokenFixture.payload(of: config.auth.anonKey))
        }
        let built = Principal(role: .authenticated, subject: "u-1", appRole: "super_admin").claimsJSON
        #expect(built == #"{"app_metadata":{"role":"super_admin"},"role":"authenticated","sub":"u-1"}"#)
        #expect(Principal(role: .anon).claimsJSON == #"{"role":"anon"}"#)
    }

    @Test("a token that is not three segments, or whose header is not JSON: 401 saying so")
    func malformed() async throws {
        Self.expectRefused(try await Self.call("abc.def"), saying: "three dot-separated segments")
        Self.expectRefused(try await Self.call("!!!.e30.sig"), saying: "header")
    }
}
