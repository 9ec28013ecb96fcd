import Foundation
import Notifications
import Postgres
import Testing

@Suite("Notifier: thin Swift over notify.*")
struct NotifierTests {
    struct Metadata: Codable, Equatable {
        let run: String
    }

    @Test("configure writes the cap and enables exactly the configured channels")
    func configure() async throws {
        try await withNotifications { harness in
            try await harness.notifier.configure(from: try Harness.settings(cap: 3, ["ops": "http://127.0.0.1:1/a", "audit": "http://127.0.0.1:1/b"]))
            try await harness.notifier.configure(from: try Harness.settings(cap: 2, ["ops": "http://127.0.0.1:1/a"]))
            #expect(try await harness.count("select daily_cap_per_user from notify.settings") == 2)
            let enabled = try await harness.database.query("select name from notify.channels where enabled order by name")
                .map { try $0.decode(String.self, at: 0) }
            #expect(enabled == ["ops"])
            #expect(try await harness.count("select count(*) from notify.channels where not enabled") == 1)
        }
    }

    @Test("send: sent, then duplicate for the same key, suppressed past the cap; one delivery per channel")
    func sendOutcomes() async throws {
        try await withNotifications { harness in
            try await harness.notifier.configure(from: try Harness.settings(cap: 2, ["ops": "http://127.0.0.1:1/a"]))
            let user = UUID()
            let first = try await harness.notifier.send(to: user, title: "a", message: "m", metadata: Metadata(run: "r1"), dedupeKey: "k1")
            guard case .sent(let id) = first else { Issue.record("expected sent, got \(first)"); return }
            #expect(try await harness.notifier.send(to: user, title: "again", message: "m", dedupeKey: "k1") == .duplicate(id))
            #expect(try await harness.notifier.send(to: user, title: "b", message: "m").name == "sent")
            #expect(try await harness.notifier.send(to: user, title: "c", message: "m") == .suppressed)
            #expect(try await harness.count("select count(*) from notify.deliveries where channel = 'ops'") == 2)

            await #expect { try await harness.notifier.send(to: user, title: "x", message: "m", metadataJSON: "[1]") } throws: { error in
                (error as? PostgresError)?.message == "notify.send: metadata must be a JSON object, got array"
            }
        }
    }

    @Test("list returns the user's notifications newest first; markRead is true for mine, false for another user's")
    func inbox() async throws {
        try await withNotifications { harness in
            try await harness.notifier.configure(from: try Harness.settings(cap: 10, [:]))
            let me = UUID()
            let other = UUID()
            let older = try #require(try await harness.notifier.send(to: me, title: "older", message: "m", metadata: Metadata(run: "r1")).notificationID)
            _ = try await harness.notifier.send(to: me, title: "newer", message: "m")
            let theirs = try #require(try await harness.notifier.send(to: other, title: "theirs", message: "m").notificationID)

            let inbox = try await harness.notifier.list(userID: me)
            #expect(inbox.map(\.title) == ["newer", "older"])
            #expect(try inbox[1].metadata(as: Metadata.self) == Metadata(run: "r1"))
            #expect(inbox.allSatisfy { !$0.read && $0.readAt == nil && $0.userID == me })

            #expect(try await harness.notifier.markRead(userID: me, notificationID: older))
            #expect(try await harness.notifier.markRead(userID: me, notificationID: theirs) == false)
            #expect(try await harness.notifier.list(userID: me, unreadOnly: true).map(\.title) == ["newer"])
            #expect(try await harness.notifier.list(userID: other, unreadOnly: true).map(\.title) == ["theirs"])
            #expect(try await harness.notifier.list(userID: me, limit: 1).map(\.title) == ["newer"])
        }
    }
}
