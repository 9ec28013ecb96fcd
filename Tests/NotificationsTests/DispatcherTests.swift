import Foundation
import Notifications
import Testing

@Suite("the delivery dispatcher against a real webhook receiver on loopback", .serialized)
struct DispatcherTests {
    struct Payload: Decodable {
        let id: UUID
        let user_id: UUID
        let title: String
        let message: String
        let metadata: [String: Int]
        let channel: String
        let created_at: String
    }

    @Test("a receiver that fails with 503 once and then recovers: delivered on attempt 2, the same Idempotency-Key both times")
    func retriesTransientFailure() async throws {
        let key = UUID().uuidString
        try await withNotifications { harness in
            let settings = try Harness.settings(["ops": try await Receiver.url(key: key, failures: 1, status: 503)])
            try await harness.notifier.configure(from: settings)
            let user = UUID()
            let outcome = try await harness.notifier.send(to: user, title: "Disk full", message: "db-1 is at 95%", metadata: ["percent": 95])
            let id = try #require(outcome.notificationID)

            try await harness.withDispatcher(settings) {
                try await harness.wait(notification: id, channel: "ops", status: "delivered")
            }

            let delivery = try await harness.delivery(notification: id, channel: "ops")
            #expect(delivery.attempts == 2)
            #expect(delivery.code == 204)
            #expect(delivery.error == "the webhook answered HTTP 503: {\"error\":\"receiver says 503\"}")
            let requests = await Receiver.requests(key)
            #expect(requests.count == 2)
            #expect(requests.map(\.idempotencyKey) == ["\(id.uuidString.lowercased()):ops", "\(id.uuidString.lowercased()):ops"])
            #expect(requests.allSatisfy { $0.contentType == "application/json" })
            // An unsigned (loopback) channel still carries the Standard Webhooks id and timestamp,
            // the id the same on every attempt; only the signature is missing.
            #expect(requests[0].webhookID != nil && requests[0].webhookID == requests[1].webhookID)
            #expect(requests.allSatisfy { $0.webhookTimestamp.flatMap { Int64($0) } != nil && $0.webhookSignature == nil })
            let payload = try JSONDecoder().decode(Payload.self, from: Data(requests[1].body.utf8))
            #expect(payload.id == id && payload.user_id == user && payload.channel == "ops")
            #expect(payload.title == "Disk full" && payload.message == "db-1 is at 95%" && payload.metadata == ["percent": 95])
        }
    }

    @Test("a 400 fails the delivery permanently, on its first attempt")
    func permanentFailure() async throws {
        let key = UUID().uuidString
        try await withNotifications { harness in
            let settings = try Harness.settings(["ops": try await Receiver.url(key: key, failures: 100, status: 400)])
            try await harness.notifier.configure(from: settings)
            let id = try #require(try await harness.notifier.send(to: UUID(), title: "t", message: "m").notificationID)

            try await harness.withDispatcher(settings) {
                try await harness.wait(notification: id, channel: "ops", status: "failed")
                // Longer than the first retry's backoff (1 s): a retry would have happened by now.
                try await Task.sleep(for: .milliseconds(1500))
            }

            let delivery = try await harness.delivery(notification: id, channel: "ops")
            #expect(delivery.status == "failed")
            #expect(delivery.attempts == 1)
            #expect(delivery.code == 400)
            #expect(await Receiver.requests(key).count == 1)
        }
    }

    @Test("a channel the database knows but this config does not fails permanently, saying so; the others are delivered")
    func unconfiguredChannel() async throws {
        let key = UUID().uuidString
        try await withNotifications { harness in
            let url = try await Receiver.url(key: key)
            // Another process (or an older config) enabled "ghost"; this dispatcher has no URL for it.
            try await harness.notifier.configure(from: try Harness.settings(["ops": url, "ghost": url]))
            let id = try #require(try await harness.notifier.send(to: UUID(), title: "t", message: "m").notificationID)

            try await harness.withDispatcher(try Harness.settings(["ops": url])) {
                try await harness.wait(notification: id, channel: "ghost", status: "failed")
                try await harness.wait(notification: id, channel: "ops", status: "delivered")
            }

            let ghost = try await harness.delivery(notification: id, channel: "ghost")
            #expect(ghost.attempts == 1)
            #expect(ghost.code == nil)
            #expect(ghost.error == "channel \"ghost\" is not configured: add [notifications.channels.ghost] webhook_url to the config")
            #expect(await Receiver.requests(key).map(\.idempotencyKey) == ["\(id.uuidString.lowercased()):ops"])
        }
    }

    @Test("a NOTIFY wakes the dispatcher: delivered long before the (60 s) poll would have found it")
    func notifyWakesDispatcher() async throws {
        let key = UUID().uuidString
        try await withNotifications { harness in
            let settings = try Harness.settings(["ops": try await Receiver.url(key: key)])
            try await harness.notifier.configure(from: settings)
            try await harness.withDispatcher(settings, pollInterval: .seconds(60)) {
                // Let the dispatcher LISTEN and find the outbox empty first.
                try await Task.sleep(for: .seconds(1))
                let sent = ContinuousClock.now
                let id = try #require(try await harness.notifier.send(to: UUID(), title: "t", message: "m").notificationID)
                try await harness.wait(notification: id, channel: "ops", status: "delivered", timeout: .seconds(10))
                #expect(ContinuousClock.now - sent < .seconds(10))
            }
            #expect(await Receiver.requests(key).count == 1)
        }
    }

    @Test("a batch is sent concurrently: 10 receivers taking 500 ms each are all served in far less than 5 s, each once")
    func batchIsConcurrent() async throws {
        let key = UUID().uuidString
        try await withNotifications { harness in
            let settings = try Harness.settings(cap: 100, ["ops": try await Receiver.url(key: key, delayMs: 500)])
            try await harness.notifier.configure(from: settings)
            var ids: [UUID] = []
            for n in 0..<10 {
                ids.append(try #require(try await harness.notifier.send(to: UUID(), title: "n\(n)", message: "m").notificationID))
            }
            let elapsed = try await ContinuousClock().measure {
                try await harness.withDispatcher(settings) {
                    for id in ids { try await harness.wait(notification: id, channel: "ops", status: "delivered") }
                }
            }
            // Well under 5 s even on a loaded CI machine (here ~0.6 s): any concurrency shows.
            #expect(elapsed < .seconds(4), "one at a time would take 5 s")
            let keys = await Receiver.requests(key).compactMap(\.idempotencyKey)
            #expect(keys.sorted() == ids.map { "\($0.uuidString.lowercased()):ops" }.sorted())
        }
    }

    @Test("a slow receiver holds one place, not the claim: ten deliveries behind it are delivered while it is still out")
    func slowReceiverHoldsOnePlace() async throws {
        let key = UUID().uuidString
        try await withNotifications { harness in
            let settings = try Harness.settings(cap: 100, [
                "slow": try await Receiver.url(key: key + "-slow", delayMs: 4000),
                "fast": try await Receiver.url(key: key + "-fast"),
            ])
            try await harness.notifier.configure(from: settings)
            // The slow channel's delivery first, in the same claim as fast ones would be.
            try await harness.database.query("select notify.configure(100, array['slow'])")
            let slow = try #require(try await harness.notifier.send(to: UUID(), title: "slow", message: "m").notificationID)
            try await harness.database.query("select notify.configure(100, array['fast'])")
            var fast: [UUID] = []
            for n in 0..<10 {
                fast.append(try #require(try await harness.notifier.send(to: UUID(), title: "fast \(n)", message: "m").notificationID))
            }
            try await harness.withDispatcher(settings, batchSize: 2, maxInFlight: 4) {
                let started = ContinuousClock.now
                for id in fast { try await harness.wait(notification: id, channel: "fast", status: "delivered", timeout: .seconds(10)) }
                #expect(ContinuousClock.now - started < .seconds(4), "the fast deliveries waited for the slow one")
                #expect(try await harness.delivery(notification: slow, channel: "slow").status == "delivering",
                        "the slow receiver is still answering")
                try await harness.wait(notification: slow, channel: "slow", status: "delivered", timeout: .seconds(10))
            }
        }
    }
}
