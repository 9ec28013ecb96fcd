import Engine
import Foundation
import HTTPClient
import JWTKit
import Postgres
import Server
import Testing
import TestSupport

@testable import CoveragePack

/// The nightly coverage job's documented payload and telemetry (issue 15 §9), end to end on a
/// real cluster: the cron slot's run and the admin route's run say `triggered_at` and
/// `trigger_type`; `coverage_job_runs.errors` holds the story's strings with the detail beside
/// them; run outputs and step checkpoints hold lower-case UUIDs, and checkpoints written
/// upper-case before still replay.
@Suite("coverage contract", .serialized)
struct CoverageContractTests {
    static let function = "coverage/nightly-recompute"

    /// A super admin's token, signed with the harness's project secret.
    static func superAdmin(_ pack: PackHarness) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: pack.config.auth.jwtSecret), digestAlgorithm: .sha256)
        return try await keys.sign(AuthClaims(
            role: "authenticated", sub: "00000000-0000-4000-8000-0000000000aa", exp: ExpirationClaim(value: Date().addingTimeInterval(600)),
            appRole: "super_admin"))
    }

    /// POST on the harness's server: the status and the body's text, as the client gets it.
    static func post(_ pack: PackHarness, _ path: String, token: String, body: String) async throws -> (status: Int, text: String) {
        var request = HTTPRequest(
            method: .post, url: "http://127.0.0.1:\(pack.config.api.port)\(path)",
            headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"], body: Array(body.utf8))
        request.throwOnErrorStatus = false
        let response = try await pack.http.execute(request)
        return (response.status, response.text)
    }

    /// Every run output and step checkpoint of `run`, as stored.
    static func stored(_ pack: PackHarness, run: UUID) async throws -> String {
        try await pack.database.query("""
            select coalesce(r.output::text, '') || ' ' || coalesce((select string_agg(s.output::text, ' ') from nightshift.steps s where s.run_id = r.id), '')
            from nightshift.runs r where r.id = \(run)
            """)[0].decode(String.self, at: 0)
    }

    @Test("the cron slot's run says trigger_type cron at its slot, the admin route's says manual now; both outputs lower-case")
    func payloads() async throws {
        try await withPack { pack in
            let institutions = try await CoverageJobTests.seed(pack, institutions: 1)
            let registry = try await pack.registry(pack.functions(CoveragePack()))
            // The schedule's next slot (02:00 UTC), ticked as pg_cron would, then made due now.
            let slot = try await pack.database.query("select next_slot from nightshift.schedules where function_id = \(Self.function)")[0]
                .decode(Date.self, at: 0)
            try await pack.database.execute("select nightshift.tick(\(slot))")
            let cronID = try await pack.database.query("""
                update nightshift.runs set run_at = now() where function_id = \(Self.function) and trigger_kind = 'cron' returning id
                """)[0].decode(UUID.self, at: 0)
            let token = try await Self.superAdmin(pack)
            try await pack.withServer {
                try await pack.withWorker(registry) {
                    let cron = try await pack.wait(for: cronID, status: "completed", timeout: .seconds(60))
                    #expect(cron.payload["trigger_type"] == .string("cron"))
                    #expect(cron.payload["triggered_at"] == .string(slot.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))))
                    #expect(cron.output?["triggerType"] == .string("cron"), "the run's output says how it was triggered too")
                    let cronStored = try await Self.stored(pack, run: cronID)
                    #expect(upperCaseUUIDs(in: cronStored).isEmpty, "run output and step checkpoints: \(cronStored)")

                    let before = Date()
                    let answer = try await Self.post(pack, "/api/v1/admin/coverage/recompute", token: token,
                                                     body: #"{"institution_id": "\#(institutions[0].uuidString.lowercased())"}"#)
                    #expect(answer.status == 202)
                    #expect(upperCaseUUIDs(in: answer.text).isEmpty, "the admin route's answer: \(answer.text)")
                    guard case .string(let jobText)? = try JSONValue(json: answer.text)["data"]?["job_id"], let job = UUID(uuidString: jobText) else {
                        Issue.record("no job_id in \(answer.text)")
                        return
                    }
                    let manual = try await pack.wait(for: job, status: "completed", timeout: .seconds(60))
                    #expect(manual.payload["trigger_type"] == .string("manual"))
                    #expect(manual.payload["institution_id"] == .string(institutions[0].uuidString.lowercased()))
                    if case .string(let text)? = manual.payload["triggered_at"], let at = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) {
                        #expect(at >= before.addingTimeInterval(-1) && at <= Date().addingTimeInterval(1), "triggered when asked: \(text)")
                    } else {
                        Issue.record("triggered_at missing or not ISO 8601: \(String(describing: manual.payload["triggered_at"]))")
                    }
                    #expect(manual.output?["triggerType"] == .string("manual"))
                    let manualStored = try await Self.stored(pack, run: job)
                    #expect(upperCaseUUIDs(in: manualStored).isEmpty, "run output and step checkpoints: \(manualStored)")
                }
            }
        }
    }

    @Test("a failed institution is one of the story's strings in coverage_job_runs.errors, its detail in error_details")
    func errorStrings() async throws {
        try await withPack { pack in
            let institutions = try await CoverageJobTests.seed(pack, institutions: 2)
            let broken = institutions[1].uuidString.lowercased()
            try await pack.database.withConnection { connection in
                try await connection.executeScript("""
                    create function public.break_one() returns trigger language plpgsql as $$
                    begin
                        if new.institution_id = '\(broken)' then raise exception 'broken curriculum'; end if;
                        return new;
                    end $$;
                    create trigger break_one before insert on coverage.coverage_snapshots for each row execute function public.break_one();
                    """)
            }
            let registry = try await pack.registry(pack.functions(CoveragePack()))
            try await pack.withWorker(registry) {
                let run = try await pack.wait(for: try await pack.trigger(Self.function), status: "completed", timeout: .seconds(60))
                let row = try await pack.database.query("""
                    select errors::text, error_details -> 0 ->> 'institution_id', error_details -> 0 ->> 'sqlstate',
                           error_details -> 0 ->> 'message', (error_details -> 0 ->> 'attempts')::int
                    from coverage.coverage_job_runs where run_id = \(run.id)
                    """)[0]
                let (errors, institution, sqlstate, message, attempts) = try row.decode(String.self, String?.self, String?.self, String?.self, Int?.self)
                #expect(try JSONValue(json: errors) == .array([.string("\(broken): broken curriculum (SQLSTATE P0001)")]),
                        "errors: string[], as CoverageJobTelemetry says")
                #expect(institution == broken && sqlstate == "P0001" && message == "broken curriculum" && attempts == 1,
                        "the structured detail is kept beside")
                let stored = try await Self.stored(pack, run: run.id)
                #expect(upperCaseUUIDs(in: stored).isEmpty, "run output and step checkpoints: \(stored)")
            }
        }
    }

    @Test("a run whose checkpoints were written upper-case (before this change) resumes from them")
    func upperCaseCheckpointsReplay() async throws {
        try await withPack { pack in
            let institutions = try await CoverageJobTests.seed(pack, institutions: 2)
            let registry = try await pack.registry(pack.functions(CoveragePack()))
            // A run that had listed its institutions, upper-case as Swift's UUID wrote them, and
            // finished the first one before its worker died.
            let id = try await pack.trigger(Self.function)
            let upper = institutions.map(\.uuidString)
            try await pack.database.execute("""
                insert into nightshift.steps (run_id, name, output, attempt) values
                    (\(id), 'start', to_jsonb(to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')), 1),
                    (\(id), 'list-institutions', \(PostgresJSON(upper))::jsonb, 1),
                    (\(id), \("institution-" + institutions[0].uuidString.lowercased()),
                     jsonb_build_object('institutionID', \(upper[0])::text, 'result', jsonb_build_object('gaps_detected', 0, 'gaps_resolved', 0), 'retriedAt', '[]'::jsonb), 1)
                """)
            // It ran before, so it has a start (a claim returns steps only of runs claimed before).
            try await pack.database.execute("update nightshift.runs set started_at = now() - interval '1 minute' where id = \(id)")
            try await pack.withWorker(registry) {
                let run = try await pack.wait(for: id, status: "completed", timeout: .seconds(60))
                #expect(CoverageJobTests.output(run, "institutionsProcessed") == 2, "both: the memoised one and the one left")
                #expect(try await pack.count("select count(*) from coverage.coverage_snapshots where institution_id = \(institutions[0])") == 0,
                        "the memoised institution is not processed again")
                #expect(try await pack.count("select count(*) from coverage.coverage_snapshots where institution_id = \(institutions[1])") == 1)
            }
        }
    }
}
