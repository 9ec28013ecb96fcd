import Config
import Notifications
import Testing

@Suite("the Standard Webhooks signer")
struct WebhookSignerTests {
    /// The example of the spec's reference libraries (their test suites sign it too).
    static let specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let specID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    static let specTimestamp: Int64 = 1_614_265_330
    static let specBody = Array(#"{"test": 2432232314}"#.utf8)

    @Test("signs the spec's example exactly as its reference libraries do")
    func specVector() throws {
        let signer = WebhookSigner(secret: try WebhookSecret(parsing: Self.specSecret))
        #expect(
            signer.signature(id: Self.specID, timestamp: Self.specTimestamp, body: Self.specBody)
                == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test("every signed field changes the signature: id, timestamp, body and secret")
    func everyFieldIsSigned() throws {
        let signer = WebhookSigner(secret: try WebhookSecret(parsing: Self.specSecret))
        let original = signer.signature(id: Self.specID, timestamp: Self.specTimestamp, body: Self.specBody)
        let other = WebhookSigner(secret: try WebhookSecret(parsing: "whsec_" + String(repeating: "A", count: 32)))
        let variants = [
            signer.signature(id: Self.specID + "x", timestamp: Self.specTimestamp, body: Self.specBody),
            signer.signature(id: Self.specID, timestamp: Self.specTimestamp + 1, body: Self.specBody),
            signer.signature(id: Self.specID, timestamp: Self.specTimestamp, body: Self.specBody + [0x20]),
            other.signature(id: Self.specID, timestamp: Self.specTimestamp, body: Self.specBody),
        ]
        #expect(variants.allSatisfy { $0 != original && $0.hasPrefix("v1,") })
    }
}
