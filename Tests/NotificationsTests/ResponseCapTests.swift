import Foundation
import Notifications
import Testing

/// A receiver's answer is read up to `DispatcherOptions.maxResponseBytes` (64 KiB) and no
/// further; the status still decides the outcome.
@Suite("the dispatcher's cap on webhook response bodies", .serialized)
struct ResponseCapTests {
    @Test("a 200 with a 1 MiB body is delivered: the receiver said yes; the cut-off body is not a failure")
    func oversizedSuccessIsDelivered() async throws {
        let key = UUID().uuidString
        try await withNotifications { harness in
            let settings = try Harness.settings(["ops": try await Receiver.url(key: key, bodyBytes: 1 << 20)])
            try await harness.notifier.configure(from: settings)
            let id = try #require(try await harness.notifier.send(to: UUID(), title: "t", message: "m").notificationID)
            try await harness.withDispatcher(settings) {
                try await harness.wait(notification: id, channel: "ops", status: "delivered")
            }
            let delivery = try await harness.delivery(notification: id, channel: "ops")
            #expect(delivery.attempts == 1)
            #expect(delivery.code == 200)
            #expect(await Receiver.requests(key).count == 1)
        }
    }

    @Test("a 503 with a 1 MiB body is retried as a 503, the cap and the body's start in last_error")
    func oversizedErrorFollowsItsStatus() async throws {
        let key = UUID().uuidString
        try await withNotifications { harness in
            let settings = try Harness.settings(["ops": try await Receiver.url(key: key, failures: 1, status: 503, bodyBytes: 1 << 20)])
            try await harness.notifier.configure(from: settings)
            let id = try #require(try await harness.notifier.send(to: UUID(), title: "t", message: "m").notificationID)
            try await harness.withDispatcher(settings) {
                try await harness.wait(notification: id, channel: "ops", status: "delivered")
            }
            let delivery = try await harness.delivery(notification: id, channel: "ops")
            #expect(delivery.attempts == 2)
            let error = try #require(delivery.error)
            #expect(error.hasPrefix(
                "the webhook answered HTTP 503 and the response body exceeded maxResponseBytes (65536 bytes): {\"error\":\"receiver says 503\"}"),
                "\(error)")
        }
    }

    @Test("a 400 with a 1 MiB body fails at once, as any 400")
    func oversizedClientErrorIsPermanent() async throws {
        let key = UUID().uuidString
        try await withNotifications { harness in
            let settings = try Harness.settings(["ops": try await Receiver.url(key: key, failures: 100, status: 400, bodyBytes: 1 << 20)])
            try await harness.notifier.configure(from: settings)
            let id = try #require(try await harness.notifier.send(to: UUID(), title: "t", message: "m").notificationID)
            try await harness.withDispatcher(settings) {
                try await harness.wait(notification: id, channel: "ops", status: "failed")
            }
            let delivery = try await harness.delivery(notification: id, channel: "ops")
            #expect(delivery.attempts == 1)
            #expect(delivery.code == 400)
        }
    }
}
