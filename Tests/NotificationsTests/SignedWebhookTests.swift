import Config
import Foundation
import Notifications
import Testing

/// Signatures checked end to end by an independent implementation: the dispatcher delivers to
/// a receiver that verifies with PyPI's `standardwebhooks`, which answers 2xx only to a valid
/// signature. The tampering cases show that the verifier rejects what it should, so a pass
/// means something.
@Suite("signed webhooks verified by the Standard Webhooks reference library", .serialized)
struct SignedWebhookTests {
    static let secret = "whsec_" + Data("nightshift-test-webhook-secret-0".utf8).base64EncodedString()
    static let otherSecret = "whsec_" + Data("some-other-channel-secret-value!".utf8).base64EncodedString()

    /// Sends one notification on channel "ops" and runs a dispatcher until its delivery is `status`.
    private func deliver(
        _ harness: Harness, url: String, secret: String, until status: String
    ) async throws -> (id: UUID, delivery: (status: String, attempts: Int, code: Int?, error: String?)) {
        let settings = try Harness.settings(["ops": url], secrets: ["ops": secret])
        try await harness.notifier.configure(from: settings)
        let id = try #require(try await harness.notifier.send(to: UUID(), title: "Disk full", message: "db-1 is at 95%").notificationID)
        try await harness.withDispatcher(settings) {
            try await harness.wait(notification: id, channel: "ops", status: status)
        }
        return (id, try await harness.delivery(notification: id, channel: "ops"))
    }

    @Test("a delivery verifies: webhook-id, webhook-timestamp (now) and a v1 signature, beside the Idempotency-Key")
    func verifies() async throws {
        let receiver = try await VerifyingReceiver(secret: Self.secret)
        try await withNotifications { harness in
            let before = Int64(Date().timeIntervalSince1970)
            let (id, delivery) = try await deliver(harness, url: receiver.url(), secret: Self.secret, until: "delivered")
            #expect(delivery.attempts == 1 && delivery.code == 204)

            let received = try await receiver.received()
            let request = try #require(received.first)
            #expect(received.count == 1)
            #expect(request.verified, "the reference library refused it: \(request.error ?? "")")
            #expect(request.headers["idempotency-key"] == "\(id.uuidString.lowercased()):ops")
            let webhookID = try #require(request.headers["webhook-id"])
            #expect(webhookID.wholeMatch(of: /msg_[0-9a-f]{32}/) != nil, "webhook-id \(webhookID)")
            let timestamp = try #require(request.headers["webhook-timestamp"].flatMap { Int64($0) })
            #expect(timestamp >= before && timestamp <= Int64(Date().timeIntervalSince1970))
            #expect(request.headers["webhook-signature"]?.hasPrefix("v1,") == true)
            #expect(request.body.contains("\"title\": \"Disk full\""))
        }
    }

    @Test("a retry is signed anew and verifies, with the same webhook-id")
    func retryKeepsTheID() async throws {
        let receiver = try await VerifyingReceiver(secret: Self.secret, failFirst: 1)
        try await withNotifications { harness in
            let (_, delivery) = try await deliver(harness, url: receiver.url(), secret: Self.secret, until: "delivered")
            #expect(delivery.attempts == 2)
            let received = try await receiver.received()
            #expect(received.count == 2)
            #expect(received.allSatisfy { $0.verified })
            #expect(Set(received.compactMap { $0.headers["webhook-id"] }).count == 1)
        }
    }

    @Test("signed with another secret: the verifier refuses it, so the delivery fails (401) saying why")
    func wrongSecret() async throws {
        let receiver = try await VerifyingReceiver(secret: Self.otherSecret)
        try await withNotifications { harness in
            let (_, delivery) = try await deliver(harness, url: receiver.url(), secret: Self.secret, until: "failed")
            #expect(delivery.attempts == 1)
            #expect(delivery.code == 401)
            #expect(delivery.error?.contains("No matching signature found") == true, "\(delivery.error ?? "nil")")
            let received = try await receiver.received()
            #expect(received.count == 1 && !received[0].verified)
        }
    }

    @Test("a replay verifies as sent, but a tampered body, id or signature, or a stale timestamp, is refused")
    func tamperingIsRefused() async throws {
        let receiver = try await VerifyingReceiver(secret: Self.secret)
        try await withNotifications { harness in
            _ = try await deliver(harness, url: receiver.url(), secret: Self.secret, until: "delivered")
        }
        let original = try #require(try await receiver.received().first)
        let headers = original.headers.filter { $0.key.hasPrefix("webhook-") }
        let body = Array(original.body.utf8)

        // As sent: the harness replays faithfully, so the refusals below are the tampering's doing.
        #expect(try await receiver.post(body: body, headers: headers).status == 204)

        let tamperedBody = Array(original.body.replacingOccurrences(of: "95%", with: "85%").utf8)
        #expect(tamperedBody != body)
        let bodyVerdict = try await receiver.post(body: tamperedBody, headers: headers)
        #expect(bodyVerdict.status == 401 && bodyVerdict.error == "No matching signature found")

        var otherID = headers
        otherID["webhook-id"] = "msg_" + String(repeating: "0", count: 32)
        #expect(try await receiver.post(body: body, headers: otherID).error == "No matching signature found")

        var forged = headers
        let wrongSigner = WebhookSigner(secret: try WebhookSecret(parsing: Self.otherSecret))
        let timestamp = try #require(Int64(headers["webhook-timestamp"] ?? ""))
        forged["webhook-signature"] = wrongSigner.signature(id: headers["webhook-id"]!, timestamp: timestamp, body: body)
        #expect(try await receiver.post(body: body, headers: forged).error == "No matching signature found")

        // Correctly signed, but six minutes old: outside the spec's five-minute window.
        var stale = headers
        let old = Int64(Date().timeIntervalSince1970) - 6 * 60
        stale["webhook-timestamp"] = String(old)
        stale["webhook-signature"] = WebhookSigner(secret: try WebhookSecret(parsing: Self.secret))
            .signature(id: headers["webhook-id"]!, timestamp: old, body: body)
        let staleVerdict = try await receiver.post(body: body, headers: stale)
        #expect(staleVerdict.status == 401 && staleVerdict.error == "Message timestamp too old")
    }
}
