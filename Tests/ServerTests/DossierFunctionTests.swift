import Foundation
import Postgres
import Testing
import TestSupport

@testable import DossierPack
import Server

/// The dossier pack's edge functions over real HTTP against a migrated database: each answer
/// and each auth case the issue names.
@Suite("dossier edge functions", .serialized)
struct DossierFunctionTests {
    static let owner = "00000000-0000-4000-8000-00000000000a"
    static let other = "00000000-0000-4000-8000-00000000000b"
    static let healthy = "10000000-0000-4000-8000-000000000001"
    static let neglected = "10000000-0000-4000-8000-000000000002"
    static let unknown = "10000000-0000-4000-8000-0000000000ff"

    /// Two dossiers of one owner: one engaged lately with its commitment kept, one silent for a
    /// year with a commitment past due.
    static func withDossiers(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
        try await TestDatabase.withMigratedDatabase { url async throws in
            let connection = try await PostgresConnection.connect(url: url)
            try await connection.executeScript("""
                insert into dossier.dossiers (id, name, owner_id) values
                    ('\(healthy)', 'Healthy desk', '\(owner)'), ('\(neglected)', 'Neglected desk', '\(owner)');
                insert into dossier.engagements (dossier_id, occurred_at, kind)
                    select '\(healthy)', now() - make_interval(days => d), 'meeting' from generate_series(1, 6) d;
                insert into dossier.engagements (dossier_id, occurred_at, kind) values ('\(neglected)', now() - interval '400 days', 'call');
                insert into dossier.commitments (dossier_id, owner_id, description, due_date, status, completed_at) values
                    ('\(healthy)', '\(owner)', 'Send the minutes', current_date - 3, 'completed', now() - interval '4 days'),
                    ('\(neglected)', '\(other)', 'Sign the MoU', current_date - 10, 'pending', null);
                select dossier.refresh_engagement_stats(), dossier.refresh_commitment_stats();
                """)
            await connection.close()
            try await body(url)
        }
    }

    @Test("dossier-stats: one or many dossiers, 404 for an unknown one, 400 naming a malformed field, 401 and 403")
    func dossierStats() async throws {
        try await Self.withDossiers { url in
            let user = try await token(role: "authenticated", sub: Self.owner)
            let anon = try await token(role: "anon")
            try await withServer(databaseURL: url) { client in
                let one = try await client.post("/functions/v1/dossier-stats", token: user, body: #"{"dossierId": "\#(Self.healthy)"}"#)
                #expect(one.status == .ok)
                #expect(one.data?["name"] as? String == "Healthy desk")
                #expect((one.data?["engagementStats"] as? [String: Any])?["last30Days"] as? Int == 6)

                let many = try await client.post("/functions/v1/dossier-stats", token: user,
                                                 body: #"{"dossierIds": ["\#(Self.healthy)", "\#(Self.unknown)", "\#(Self.neglected)"]}"#)
                #expect((many.data?["dossiers"] as? [Any])?.count == 2)
                #expect(many.data?["notFound"] as? [String] == [Self.unknown])

                let missing = try await client.post("/functions/v1/dossier-stats", token: user, body: #"{"dossierId": "\#(Self.unknown)"}"#)
                #expect(missing.status == .notFound)
                let malformed = try await client.post("/functions/v1/dossier-stats", token: user, body: #"{"dossierIds": ["\#(Self.healthy)", "x"]}"#)
                #expect(malformed.status == .badRequest)
                #expect(malformed.errorMessage?.contains("dossierIds[1]") == true)
                #expect(try await client.post("/functions/v1/dossier-stats", token: user, body: "{}").status == .badRequest)
                #expect(try await client.post("/functions/v1/dossier-stats", body: #"{"dossierId": "\#(Self.healthy)"}"#).status == .unauthorized)
                #expect(try await client.post("/functions/v1/dossier-stats", token: anon, body: #"{"dossierId": "\#(Self.healthy)"}"#).status == .forbidden)
            }
        }
    }

    @Test("a list of ids is capped, and a malformed one is named by its index")
    func idListLimits() throws {
        let ids = Array(repeating: Self.healthy, count: 3)
        #expect(try requireUUIDs(ids, field: "dossierIds", max: 3).count == 3)
        #expect(throws: (any Error).self) { try requireUUIDs(ids, field: "dossierIds", max: 2) }
        #expect(throws: (any Error).self) { try requireUUIDs([], field: "dossierIds", max: 2) }
        #expect(DossierStats.maxDossiers == 100)
    }

    @Test("calculate-health-score: the score with its components; 404 unknown, 400 malformed")
    func calculateHealthScore() async throws {
        try await Self.withDossiers { url in
            let service = try await token(role: "service_role")
            try await withServer(databaseURL: url) { client in
                let healthy = try await client.post("/functions/v1/calculate-health-score", token: service,
                                                    body: #"{"dossierId": "\#(Self.healthy)", "forceRecalculation": true}"#)
                #expect(healthy.status == .ok)
                // 6 engagements in 90 days (frequency 100), 1 of 1 kept (100), last contact yesterday (100).
                #expect(healthy.data?["overallScore"] as? Int == 100)
                let neglected = try await client.post("/functions/v1/calculate-health-score", token: service,
                                                      body: #"{"dossierId": "\#(Self.neglected)"}"#)
                // No engagement in 90 days (0), 0 of 1 kept (0), last contact 400 days ago (10): round(0.3 × 10) = 3.
                #expect(neglected.data?["overallScore"] as? Int == 3)
                let components = neglected.data?["components"] as? [String: Any]
                #expect(components?["recencyScore"] as? Int == 10)
                #expect(try await client.post("/functions/v1/calculate-health-score", token: service,
                                              body: #"{"dossierId": "\#(Self.unknown)"}"#).status == .notFound)
                let malformed = try await client.post("/functions/v1/calculate-health-score", token: service, body: #"{"dossierId": 7}"#)
                #expect(malformed.status == .badRequest)
                #expect(malformed.errorMessage?.contains("dossierId") == true)
            }
        }
    }

    @Test("detect-overdue-commitments: service role only; a dry run changes nothing; a second run notifies no one again")
    func detectOverdue() async throws {
        try await Self.withDossiers { url in
            let service = try await token(role: "service_role")
            let user = try await token(role: "authenticated", sub: Self.owner)
            try await withServer(databaseURL: url) { client in
                #expect(try await client.post("/functions/v1/detect-overdue-commitments", token: user, body: "{}").status == .forbidden)
                let dry = try await client.post("/functions/v1/detect-overdue-commitments", token: service, body: #"{"dryRun": true}"#)
                #expect(dry.data?["overdueCount"] as? Int == 1)
                let real = try await client.post("/functions/v1/detect-overdue-commitments", token: service, body: #"{"dryRun": false}"#)
                #expect(real.status == .ok)
                #expect(real.data?["overdueCount"] as? Int == 1)
                // The commitment's owner and the dossier's owner, once each.
                #expect(real.data?["notificationsSent"] as? Int == 2)
                #expect(real.data?["healthScoresRecalculated"] as? Int == 1)
                let again = try await client.post("/functions/v1/detect-overdue-commitments", token: service, body: "{}")
                #expect(again.data?["overdueCount"] as? Int == 0)
                #expect(again.data?["notificationsSent"] as? Int == 0)
            }
            let connection = try await PostgresConnection.connect(url: url)
            let overdue = try await connection.query("select count(*)::int from dossier.commitments where status = 'overdue'")[0].decode(Int.self, at: 0)
            #expect(overdue == 1, "the dry run changed nothing, the real run marked the one commitment")
            await connection.close()
        }
    }

    @Test("refresh-commitment-stats and trigger-health-recalculation: service role only")
    func serviceFunctions() async throws {
        try await Self.withDossiers { url in
            let service = try await token(role: "service_role")
            let user = try await token(role: "authenticated", sub: Self.owner)
            try await withServer(databaseURL: url) { client in
                let refreshed = try await client.post("/functions/v1/refresh-commitment-stats", token: service)
                #expect(refreshed.data?["view"] as? String == "dossier.dossier_commitment_stats")
                #expect(try await client.post("/functions/v1/refresh-commitment-stats", token: user).status == .forbidden)

                let chosen = try await client.post("/functions/v1/trigger-health-recalculation", token: service,
                                                   body: #"{"dossierIds": ["\#(Self.healthy)"]}"#)
                #expect(chosen.data?["recalculated"] as? Int == 1)
                let stale = try await client.post("/functions/v1/trigger-health-recalculation", token: service)
                #expect(stale.data?["recalculated"] as? Int == 1, "only the never-scored dossier was stale")
                #expect(try await client.post("/functions/v1/trigger-health-recalculation", token: service,
                                              body: #"{"dossierIds": ["\#(Self.unknown)"]}"#).status == .notFound)
                #expect(try await client.post("/functions/v1/trigger-health-recalculation", token: user, body: "{}").status == .forbidden)
            }
        }
    }

    @Test("notifications: a user lists and marks only their own; another user's id is 404")
    func notifications() async throws {
        try await Self.withDossiers { url in
            let connection = try await PostgresConnection.connect(url: url)
            let mine = try await connection.query("select notification_id from notify.send(\(UUID(uuidString: Self.owner)!), 'Mine', 'for the owner')")[0].decode(UUID.self, at: 0)
            let theirs = try await connection.query("select notification_id from notify.send(\(UUID(uuidString: Self.other)!), 'Theirs', 'for someone else')")[0].decode(UUID.self, at: 0)
            await connection.close()
            let owner = try await token(role: "authenticated", sub: Self.owner)
            let service = try await token(role: "service_role")
            try await withServer(databaseURL: url) { client in
                let listed = try await client.post("/functions/v1/notifications", token: owner, body: #"{"unreadOnly": true}"#)
                let items = listed.data?["notifications"] as? [[String: Any]] ?? []
                #expect(items.map { $0["title"] as? String } == ["Mine"])

                #expect(try await client.post("/functions/v1/mark-notification-read", token: owner,
                                              body: #"{"notificationId": "\#(theirs.uuidString)"}"#).status == .notFound)
                let marked = try await client.post("/functions/v1/mark-notification-read", token: owner,
                                                   body: #"{"notificationId": "\#(mine.uuidString)"}"#)
                #expect(marked.status == .ok)
                let unread = try await client.post("/functions/v1/notifications", token: owner, body: #"{"unreadOnly": true}"#)
                #expect((unread.data?["notifications"] as? [Any])?.isEmpty == true)
                let all = try await client.post("/functions/v1/notifications", token: owner, body: "{}")
                #expect((all.data?["notifications"] as? [Any])?.count == 1)

                #expect(try await client.post("/functions/v1/notifications", token: service, body: "{}").status == .forbidden)
                #expect(try await client.post("/functions/v1/mark-notification-read", token: owner, body: #"{"notificationId": "x"}"#).status == .badRequest)
            }
        }
    }

    @Test("notifications: heldBackToday counts the caller's own held back today, and a digest is flagged")
    func notificationsHeldBack() async throws {
        try await Self.withDossiers { url in
            let connection = try await PostgresConnection.connect(url: url)
            // A cap of 0: the owner has two held back today and one yesterday (carried by a
            // digest now); the other user has one held back today.
            try await connection.executeScript("""
                select notify.configure(0, '{}');
                select notify.send('\(Self.owner)', 'Held ' || i, 'm', '{"type": "dossier.commitment_overdue"}') from generate_series(1, 2) i;
                select notify.send('\(Self.other)', 'Theirs', 'm', '{"type": "dossier.commitment_overdue"}');
                insert into notify.suppressed (user_id, title, message, metadata, day, time_zone)
                    values ('\(Self.owner)', 'Yesterday', 'm', '{"type": "dossier.commitment_overdue"}', notify.cap_day('UTC') - 1, 'UTC');
                select dossier.send_held_back_digests();
                """)
            await connection.close()
            let owner = try await token(role: "authenticated", sub: Self.owner)
            let other = try await token(role: "authenticated", sub: Self.other)
            try await withServer(databaseURL: url) { client in
                let listed = try await client.post("/functions/v1/notifications", token: owner, body: "{}")
                #expect(listed.data?["heldBackToday"] as? Int == 2)
                let items = listed.data?["notifications"] as? [[String: Any]] ?? []
                #expect(items.map { $0["title"] as? String } == ["1 more overdue commitment"])
                #expect(items.first?["digest"] as? Bool == true)
                let theirs = try await client.post("/functions/v1/notifications", token: other, body: "{}")
                #expect(theirs.data?["heldBackToday"] as? Int == 1)
                #expect((theirs.data?["notifications"] as? [Any])?.isEmpty == true)
            }
        }
    }

    static let viewer = "00000000-0000-4000-8000-00000000000c"
    static let editor = "00000000-0000-4000-8000-00000000000d"

    /// The owner's dossiers with a viewer and an editor on the healthy one.
    static func withMembers(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
        try await withDossiers { url in
            let connection = try await PostgresConnection.connect(url: url)
            try await connection.executeScript("""
                insert into dossier.members (dossier_id, user_id, role) values
                    ('\(healthy)', '\(viewer)', 'viewer'), ('\(healthy)', '\(editor)', 'editor');
                """)
            await connection.close()
            try await body(url)
        }
    }

    @Test("a user who is neither owner nor member gets 404 for a dossier that exists; a viewer reads, only editors force")
    func membership() async throws {
        try await Self.withMembers { url in
            let stranger = try await token(role: "authenticated", sub: Self.other)
            let viewer = try await token(role: "authenticated", sub: Self.viewer)
            let editor = try await token(role: "authenticated", sub: Self.editor)
            try await withServer(databaseURL: url) { client in
                let one = #"{"dossierId": "\#(Self.healthy)"}"#
                let hidden = try await client.post("/functions/v1/dossier-stats", token: stranger, body: one)
                #expect(hidden.status == .notFound)
                #expect(hidden.errorMessage?.contains("Healthy desk") != true, "nothing about the dossier leaks")
                let many = try await client.post("/functions/v1/dossier-stats", token: stranger,
                                                 body: #"{"dossierIds": ["\#(Self.healthy)", "\#(Self.neglected)"]}"#)
                #expect((many.data?["dossiers"] as? [Any])?.isEmpty == true)
                #expect(many.data?["notFound"] as? [String] == [Self.healthy, Self.neglected])
                #expect(try await client.post("/functions/v1/calculate-health-score", token: stranger, body: one).status == .notFound)

                #expect(try await client.post("/functions/v1/dossier-stats", token: viewer, body: one).data?["name"] as? String == "Healthy desk")
                #expect(try await client.post("/functions/v1/calculate-health-score", token: viewer, body: one).status == .ok)
                let forced = #"{"dossierId": "\#(Self.healthy)", "forceRecalculation": true}"#
                let refused = try await client.post("/functions/v1/calculate-health-score", token: viewer, body: forced)
                #expect(refused.status == .forbidden)
                #expect(refused.errorMessage?.contains("owner and editors") == true)
                #expect(try await client.post("/functions/v1/calculate-health-score", token: editor, body: forced).status == .ok)
                // The viewer is a member of the healthy dossier only.
                #expect(try await client.post("/functions/v1/dossier-stats", token: viewer,
                                              body: #"{"dossierId": "\#(Self.neglected)"}"#).status == .notFound)
            }
        }
    }

    @Test("a handler with no authorization of its own still reaches only the caller's rows")
    func databaseDecides() async throws {
        try await Self.withMembers { url in
            let connection = try await PostgresConnection.connect(url: url)
            for user in [Self.owner, Self.other] {
                _ = try await connection.query("select notify.send(\(UUID(uuidString: user)!), 'Hello', 'for one user')")
            }
            await connection.close()
            let stranger = try await token(role: "authenticated", sub: Self.other)
            let viewer = try await token(role: "authenticated", sub: Self.viewer)
            let anon = try await token(role: "anon")
            try await withServer(databaseURL: url) { client in
                let asStranger = try await client.post("/functions/v1/unguarded", token: stranger)
                #expect(asStranger.status == .ok)
                #expect(asStranger.data?["dossiers"] as? [String] == [])
                #expect(asStranger.data?["renamed"] as? Int == 0)
                #expect(asStranger.data?["notifications"] as? Int == 1, "their own notification only")
                #expect(asStranger.data?["marked"] as? Int == 1)

                let asViewer = try await client.post("/functions/v1/unguarded", token: viewer)
                #expect(asViewer.data?["dossiers"] as? [String] == [Self.healthy])
                // A viewer reads the dossier but may not change it: the update sees no row it may write.
                #expect(asViewer.data?["renamed"] as? Int == 0)

                // anon has no grant on the tables at all: the database refuses, the API says 403.
                #expect(try await client.post("/functions/v1/unguarded", token: anon).status == .forbidden)
            }
            let check = try await PostgresConnection.connect(url: url)
            let names = try await check.query("select name from dossier.dossiers order by name").map { try $0.decode(String.self, at: 0) }
            #expect(names == ["Healthy desk", "Neglected desk"], "no dossier was renamed")
            let unread = try await check.query("select count(*)::int from notify.notifications where not read")[0].decode(Int.self, at: 0)
            #expect(unread == 1, "the owner's notification is still unread")
            await check.close()
        }
    }
}
