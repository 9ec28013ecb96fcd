import Config
import Engine
import Foundation
import NightshiftKit
import Postgres
import ServiceTokens
import Testing

@testable import DossierPack

/// The dossier pack's jobs end to end on a real cluster: the health refresh in SQL, and the
/// overdue check through the edge function over real HTTP.
@Suite("dossier jobs", .serialized)
struct DossierJobTests {
    static let owner = UUID(uuidString: "00000000-0000-4000-8000-00000000000a")!
    static let desk = UUID(uuidString: "10000000-0000-4000-8000-000000000001")!

    /// One well-kept dossier: six recent meetings and a kept commitment (score 100).
    static func seed(_ pack: PackHarness) async throws {
        try await pack.database.withConnection { connection in
            try await connection.executeScript("""
                insert into dossier.dossiers (id, name, owner_id) values ('\(desk)', 'Canada desk', '\(owner)');
                insert into dossier.engagements (dossier_id, occurred_at, kind)
                    select '\(desk)', now() - make_interval(days => d), 'meeting' from generate_series(1, 6) d;
                insert into dossier.commitments (dossier_id, owner_id, description, due_date, status, completed_at)
                    values ('\(desk)', '\(owner)', 'Send the minutes', current_date - 3, 'completed', now() - interval '4 days');
                """)
        }
    }

    static func functions(_ pack: PackHarness) throws -> [NightshiftFunction] {
        try pack.functions(DossierPack())
    }

    @Test("refresh-health-scores: both views refreshed, every score fresh, a drop below 60 notified once")
    func refreshHealthScores() async throws {
        try await withPack { pack in
            try await Self.seed(pack)
            let registry = try await pack.registry(try Self.functions(pack))
            try await pack.withWorker(registry) {
                let first = try await pack.wait(for: try await pack.trigger("dossier/refresh-health-scores"), status: "completed")
                guard case .object(let output) = first.output else { Issue.record("no output"); return }
                #expect(output["freshnessRate"] == .number(1))
                #expect(output["freshnessTargetMet"] == .bool(true))
                #expect(try await pack.count("select overall_score::int from dossier.health_scores where dossier_id = \(Self.desk)") == 100)
                #expect(try await pack.count("select count(*) from dossier.stats_refreshes") >= 2)

                // The relationship goes quiet and a commitment is missed; the score goes stale.
                try await pack.database.execute("""
                    with gone as (delete from dossier.engagements where dossier_id = \(Self.desk) returning 1)
                    insert into dossier.commitments (dossier_id, owner_id, description, due_date, status)
                    select \(Self.desk), \(Self.owner), 'Sign the MoU', current_date - 5, 'overdue' from (select count(*) from gone) g
                    """)
                try await pack.database.execute("update dossier.health_scores set calculated_at = now() - interval '2 hours'")
                try await pack.wait(for: try await pack.trigger("dossier/refresh-health-scores"), status: "completed")
                let dropped: PostgresQuery = "select count(*) from notify.notifications where user_id = \(Self.owner) and title like 'Relationship health score dropped for%'"
                #expect(try await pack.count(dropped) == 1)
                let metadata = try await pack.database.query("select metadata::text from notify.notifications where user_id = \(Self.owner)")[0].decode(String.self, at: 0)
                #expect(metadata.contains("100"), "the previous score is named: \(metadata)")

                // Still below 60 on the next refresh: no second notification.
                try await pack.database.execute("update dossier.health_scores set calculated_at = now() - interval '2 hours'")
                try await pack.wait(for: try await pack.trigger("dossier/refresh-health-scores"), status: "completed")
                #expect(try await pack.count(dropped) == 1)
            }
        }
    }

    @Test("detect-overdue-commitments calls the edge function over HTTP with the service-role key; a second run notifies no one")
    func detectOverdueOverHTTP() async throws {
        try await withPack { pack in
            try await Self.seed(pack)
            try await pack.database.execute("""
                insert into dossier.commitments (dossier_id, owner_id, description, due_date, status)
                values (\(Self.desk), '00000000-0000-4000-8000-00000000000b', 'Sign the MoU', current_date - 10, 'in_progress')
                """)
            let registry = try await pack.registry(try Self.functions(pack))
            try await pack.withServer {
                try await pack.withWorker(registry) {
                    let dry = try await pack.wait(for: try await pack.trigger("dossier/detect-overdue-commitments", payload: #"{"dryRun": true}"#), status: "completed")
                    #expect(dry.output == nil ? false : "\(dry.output!)".contains("overdueCount"))
                    #expect(try await pack.count("select count(*) from dossier.commitments where status = 'overdue'") == 0)

                    let run = try await pack.wait(for: try await pack.trigger("dossier/detect-overdue-commitments"), status: "completed")
                    guard case .object(let output) = run.output else { Issue.record("no output"); return }
                    #expect(output["overdueCount"] == .number(1))
                    #expect(output["notificationsSent"] == .number(2), "the commitment's owner and the dossier's owner")
                    #expect(output["healthScoresRecalculated"] == .number(1))

                    let again = try await pack.wait(for: try await pack.trigger("dossier/detect-overdue-commitments"), status: "completed")
                    guard case .object(let second) = again.output else { Issue.record("no output"); return }
                    #expect(second["overdueCount"] == .number(0))
                    #expect(second["notificationsSent"] == .number(0))
                }
            }
        }
    }

    @Test("with the API down, the overdue check fails its attempt as transient and is retried after the backoff")
    func apiDown() async throws {
        try await withPack { pack in
            let registry = try await pack.registry(try Self.functions(pack))
            try await pack.withWorker(registry) {
                let id = try await pack.trigger("dossier/detect-overdue-commitments")
                let deadline = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < deadline,
                      try await pack.count("select count(*) from nightshift.run_attempts where run_id = \(id)") == 0 {
                    try await Task.sleep(for: .milliseconds(50))
                }
                let attempt = try await pack.database.query("""
                    select a.outcome, a.error->>'message', r.status, r.attempt from nightshift.run_attempts a join nightshift.runs r on r.id = a.run_id
                    where a.run_id = \(id)
                    """)[0].decode(String.self, String.self, String.self, Int.self)
                #expect(attempt.0 == "retrying")
                #expect(attempt.1.contains("connect"), "the error says the API could not be reached: \(attempt.1)")
                #expect(attempt.2 == "queued" && attempt.3 == 2)
            }
        }
    }

    @Test("an overdue-check endpoint off loopback fails the run at once: no service token leaves the machine unless allowed")
    func remoteEndpointRefused() async throws {
        try await withPack { pack in
            // 192.0.2.0/24 is TEST-NET-1: nothing answers there, and nothing is sent.
            let function = DetectOverdue.function(
                endpoint: "http://192.0.2.1:54321/functions/v1/detect-overdue-commitments",
                credential: ServiceCredential(auth: pack.config.auth, projectID: pack.config.projectID), http: pack.http)
            let registry = try await pack.registry([function])
            try await pack.withWorker(registry) {
                let run = try await pack.wait(for: try await pack.trigger("dossier/detect-overdue-commitments"), status: "failed")
                #expect(run.attempt == 1, "not retried")
                #expect("\(String(describing: run.error))".contains("allow_remote_service_token"), "\(String(describing: run.error))")
            }
        }
    }

    @Test("ENABLE_SCHEDULED_JOBS=false turns both schedules off; the jobs still run by hand")
    func schedulesDisabled() async throws {
        try await withPack(schedulesEnabled: false) { pack in
            let registry = try await pack.registry(try Self.functions(pack))
            #expect(try await pack.count("select count(*) from nightshift.schedules where function_id like 'dossier/%' and enabled") == 0)
            #expect(try await pack.count("select nightshift.tick(now() + interval '1 day')") == 0)
            try await pack.withWorker(registry) {
                try await pack.wait(for: try await pack.trigger("dossier/refresh-health-scores"), status: "completed")
            }
        }
    }

    @Test("the refresh interval comes from the job's schedule: */N, hourly, else 15 minutes")
    func refreshInterval() throws {
        var config = try PackHarness.config()
        for (cron, minutes) in [("*/5 * * * *", 5), ("0 * * * *", 60), ("*/15 * * * *", 15), ("0 2 * * *", 15)] {
            config.jobs["dossier/refresh-health-scores"] = JobSettings(cron: cron)
            #expect(RefreshHealthScores.intervalMinutes(config) == minutes, "\(cron)")
        }
    }

    @Test("the schedules: every 15 minutes in UTC, and 02:00 Asia/Riyadh (23:00 UTC)")
    func schedules() async throws {
        try await withPack { pack in
            _ = try await pack.registry(try Self.functions(pack))
            let rows = try await pack.database.query("""
                select function_id, cron, timezone, to_char(nightshift.next_fire(cron, timezone, '2026-11-23 20:01+00') at time zone 'UTC', 'HH24:MI')
                from nightshift.schedules where function_id like 'dossier/%' order by 1
                """).map { try $0.decode(String.self, String.self, String.self, String.self) }
            #expect(rows.map(\.0) == ["dossier/detect-overdue-commitments", "dossier/refresh-health-scores", "dossier/send-held-back-digests"])
            #expect(rows[0].1 == "0 2 * * *" && rows[0].2 == "Asia/Riyadh" && rows[0].3 == "23:00")
            #expect(rows[1].1 == "*/15 * * * *" && rows[1].3 == "20:15")
            #expect(rows[2].1 == "5 0 * * *" && rows[2].2 == "Asia/Riyadh" && rows[2].3 == "21:05", "00:05 in Riyadh")
        }
    }

    @Test("[dossier] timezone moves the overdue sweep and the digest to that zone's clock")
    func schedulesFollowTheTimeZone() async throws {
        try await withPack { pack in
            var config = pack.config
            var settings = DossierSettings()
            settings.timeZone = "Europe/Paris"
            config.setSection(settings)
            let functions = try DossierPack().functions(PackContext(config: config, http: pack.http, logger: PackHarness.logger))
            _ = try await pack.registry(functions)
            let rows = try await pack.database.query("""
                select function_id, timezone from nightshift.schedules
                where function_id in ('dossier/detect-overdue-commitments', 'dossier/send-held-back-digests') order by 1
                """).map { try $0.decode(String.self, String.self) }
            #expect(rows.map(\.1) == ["Europe/Paris", "Europe/Paris"])
        }
    }

    @Test("send-held-back-digests: writes [dossier] timezone, sends each user one digest of what the cap held back yesterday, once")
    func heldBackDigests() async throws {
        try await withPack { pack in
            let other = UUID(uuidString: "00000000-0000-4000-8000-00000000000c")!
            // A cap of 0 holds every notification back: three for the owner, one for another
            // user, counted on today's Kiritimati day, then moved to yesterday (the day ended).
            try await pack.database.execute("select notify.configure(0, '{}')")
            for (user, title) in [(Self.owner, "Overdue 1"), (Self.owner, "Overdue 2"), (Self.owner, "Overdue 3"), (other, "Overdue 4")] {
                let outcome = try await pack.database.query("""
                    select outcome from notify.send(\(user), \(title), 'm', '{"type": "dossier.commitment_overdue"}', null, 'Pacific/Kiritimati')
                    """)[0].decode(String.self, at: 0)
                #expect(outcome == "suppressed")
            }
            try await pack.database.execute("update notify.suppressed set day = day - 1")

            let registry = try await pack.registry([SendHeldBackDigests.function(timeZone: "Pacific/Kiritimati")])
            try await pack.withWorker(registry) {
                let run = try await pack.wait(for: try await pack.trigger(SendHeldBackDigests.id), status: "completed")
                guard case .object(let output) = run.output else { Issue.record("no output"); return }
                #expect(output["digestsSent"] == .number(2), "\(output)")
                #expect(output["notificationsCarried"] == .number(4))
                #expect(output["timeZone"] == .string("Pacific/Kiritimati"))
                #expect(try await pack.database.query("select time_zone from dossier.settings")[0].decode(String.self, at: 0)
                        == "Pacific/Kiritimati", "the run wrote [dossier] timezone")

                let digest = try await pack.database.query("""
                    select title, metadata::text from notify.notifications where user_id = \(Self.owner)
                    """).map { try $0.decode(String.self, String.self) }
                #expect(digest.count == 1)
                #expect(digest.first?.0 == "3 more overdue commitments")
                let metadata = try JSONValue(json: digest.first?.1 ?? "{}")
                guard case .object(let fields) = metadata, case .array(let items)? = fields["items"] else {
                    Issue.record("no items: \(metadata)"); return
                }
                #expect(fields["digest"] == .bool(true) && fields["heldBack"] == .number(3) && items.count == 3)
                #expect(try await pack.count("select count(*) from notify.notifications where user_id = \(other)") == 1)

                // Again the same day: nothing more.
                let again = try await pack.wait(for: try await pack.trigger(SendHeldBackDigests.id), status: "completed")
                guard case .object(let second) = again.output else { Issue.record("no output"); return }
                #expect(second["digestsSent"] == .number(0))
                #expect(try await pack.count("select count(*) from notify.notifications") == 2)
            }
        }
    }
}
