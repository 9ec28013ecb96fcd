import Foundation
import Testing

@testable import Config

@Suite("webhook secrets and signing")
struct WebhookConfigTests {
    /// 24 bytes, the shortest secret the spec allows; unpadded, as its examples are written.
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    static func channel(_ url: String, secret: String? = nil, name: String = "ops") -> String {
        minimal + "\n[notifications.channels.\"\(name)\"]\nwebhook_url = \"\(url)\"\n" + (secret.map { "webhook_secret = \"\($0)\"\n" } ?? "")
    }

    @Test("webhook_secret is read and decoded: the HMAC key is the base64 after whsec_")
    func readsSecret() throws {
        let config = try NightshiftConfig.parseWithPacks(Self.channel("https://hooks.example.test/ops", secret: Self.secret), source: "test.toml")
        let secret = try #require(config.notifications.channels["ops"]?.webhookSecret)
        #expect(secret.key == Array(Data(base64Encoded: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")!))
        #expect(secret.key.count == 24)
        #expect("\(secret)" == "whsec_<redacted>", "a secret never prints")
        #expect(!"\(config)".contains("MfKQ9r8G"), "nor does a config holding one")
    }

    @Test("padded and unpadded base64 decode alike")
    func padding() throws {
        let key = Data((0..<32).map { UInt8($0) })
        let padded = "whsec_" + key.base64EncodedString()  // 44 characters, one "="
        #expect(padded.hasSuffix("="))
        #expect(try WebhookSecret(parsing: padded).key == Array(key))
        #expect(try WebhookSecret(parsing: String(padded.dropLast())).key == Array(key))
    }

    @Test("a malformed secret is refused naming its key, and the message never repeats the secret", arguments: [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with whsec_"),
        ("whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with whsec_"),
        ("whsec_MfKQ9r8GKYqr!wjUPD8ILPZIo2LaLaSw", "is not valid base64"),
        ("whsec_MfKQ9r8G-YqrTwjUPD8ILPZIo2LaLaSw", "is not valid base64"),  // the URL-safe alphabet
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwA", "is not valid base64"),  // a length no base64 has
        ("whsec_", "decodes to 0 bytes"),
        ("whsec_c2hvcnQtc2VjcmV0LTIzLWJ5dGVzISE=", "decodes to 23 bytes"),
        ("whsec_" + Data(repeating: 7, count: 65).base64EncodedString(), "decodes to 65 bytes"),
    ])
    func malformed(secret: String, problem: String) {
        let error = parseError(Self.channel("http://127.0.0.1:9/ops", secret: secret))
        #expect(error?.key == "notifications.channels.ops.webhook_secret")
        #expect(error?.source == "test.toml")
        #expect(error?.problem.contains(problem) == true, "\(String(describing: error))")
        let body = secret.dropFirst(secret.hasPrefix("whsec_") ? 6 : 0)
        #expect(body.isEmpty || error?.problem.contains(body) == false)
    }

    @Test("a webhook off loopback must be signed: unsigned, config refuses it naming the key and the variable")
    func unsignedRemoteIsRefused() {
        let error = parseError(Self.channel("https://hooks.example.test/ops"))
        #expect(error?.key == "notifications.channels.ops.webhook_secret")
        #expect(error?.problem.contains("NIGHTSHIFT_WEBHOOK_SECRET_OPS") == true, "\(String(describing: error))")
    }

    @Test("an unsigned webhook on loopback is allowed (development)",
          arguments: ["http://127.0.0.1:54330/hooks/ops", "http://127.8.9.10/h", "http://localhost:8080/h", "http://LOCALHOST/h", "http://[::1]:8080/h"])
    func unsignedLoopbackIsAllowed(url: String) throws {
        let config = try NightshiftConfig.parseWithPacks(Self.channel(url), source: "test.toml")
        #expect(config.notifications.channels["ops"]?.webhookSecret == nil)
        #expect(config.notifications.channels["ops"]?.isLoopback == true)
    }

    @Test("hosts that only look local are not loopback",
          arguments: ["http://127.example.test/h", "http://localhost.example.test/h", "http://10.0.0.1/h", "http://127.0.0.1.example.test/h", "http://[::2]/h"])
    func lookalikesAreRemote(url: String) {
        #expect(parseError(Self.channel(url))?.key == "notifications.channels.ops.webhook_secret")
    }

    @Test("the environment variable name: NIGHTSHIFT_WEBHOOK_SECRET_ and the channel upper-cased, the rest _",
          arguments: [("ops", "NIGHTSHIFT_WEBHOOK_SECRET_OPS"), ("billing-eu", "NIGHTSHIFT_WEBHOOK_SECRET_BILLING_EU"),
                      ("team.alerts v2", "NIGHTSHIFT_WEBHOOK_SECRET_TEAM_ALERTS_V2")])
    func variableName(channel: String, variable: String) {
        #expect(NightshiftConfig.webhookSecretVariable(channel: channel) == variable)
    }

    @Test("NIGHTSHIFT_WEBHOOK_SECRET_<NAME> sets the secret, over the file's, and signs a remote channel")
    func secretFromEnvironment() throws {
        let other = "whsec_" + Data(repeating: 1, count: 32).base64EncodedString()
        let unsigned = try NightshiftConfig.parseWithPacks(
            Self.channel("https://hooks.example.test/b", name: "billing-eu"), source: "test.toml",
            environment: ["NIGHTSHIFT_WEBHOOK_SECRET_BILLING_EU": Self.secret])
        #expect(unsigned.notifications.channels["billing-eu"]?.webhookSecret?.key.count == 24)
        let overridden = try NightshiftConfig.parseWithPacks(
            Self.channel("https://hooks.example.test/ops", secret: Self.secret), source: "test.toml",
            environment: ["NIGHTSHIFT_WEBHOOK_SECRET_OPS": other])
        #expect(overridden.notifications.channels["ops"]?.webhookSecret?.key == Array(repeating: 1, count: 32))
    }

    @Test("a malformed secret in the environment names the variable")
    func malformedFromEnvironment() {
        let error = parseError(Self.channel("http://127.0.0.1:9/ops"), environment: ["NIGHTSHIFT_WEBHOOK_SECRET_OPS": "hunter2"])
        #expect(error?.key == "NIGHTSHIFT_WEBHOOK_SECRET_OPS")
        #expect(error?.source == "environment")
        #expect(error?.problem.contains("must start with whsec_") == true)
    }

    @Test("two channels whose names map to one set variable are refused rather than given one secret")
    func ambiguousVariable() {
        let text = Self.channel("http://127.0.0.1:9/a", name: "a-b") + "\n[notifications.channels.\"a.b\"]\nwebhook_url = \"http://127.0.0.1:9/b\"\n"
        let error = parseError(text, environment: ["NIGHTSHIFT_WEBHOOK_SECRET_A_B": Self.secret])
        #expect(error?.key == "NIGHTSHIFT_WEBHOOK_SECRET_A_B")
        #expect(error?.problem.contains("a-b and a.b") == true, "\(String(describing: error))")
    }

    @Test("the committed config signs its ops channel with a development secret")
    func committedConfigIsSigned() throws {
        let path = ConfigFileTests.projectRoot.appendingPathComponent("supabase-like-config/config.toml").path
        let config = try NightshiftConfig.loadWithPacks(path: path, environment: [:])
        #expect(config.notifications.channels["ops"]?.webhookSecret != nil)
    }
}
