import Foundation
import Postgres
import Testing
import TestSupport

@testable import CoveragePack
@testable import Engine

/// The coverage pack's nightly job end to end on a real cluster: snapshots, gap events and the
/// admins' alerts, telemetry, failures that do not stop the run, and a resume after kill -9.
@Suite("coverage jobs", .serialized)
struct CoverageJobTests {
    /// Seeds `count` institutions over a small concept catalogue and returns the active ones.
    static func seed(_ pack: PackHarness, institutions count: Int) async throws -> [UUID] {
        try await pack.database.execute("select coverage.seed(\(count)::int, 300::int, 0.42::float8)")
        return try await pack.database.query("select id from coverage.active_institutions() order by id").map { try $0.decode(UUID.self, at: 0) }
    }

    static func run(_ pack: PackHarness, payload: String = "{}", timeout: Duration = .seconds(60)) async throws -> RunRecord {
        try await pack.wait(for: try await pack.trigger("coverage/nightly-recompute", payload: payload), status: "completed", timeout: timeout)
    }

    static func output(_ run: RunRecord, _ key: String) -> Int? {
        guard case .object(let object)? = run.output, case .number(let value)? = object[key] else { return nil }
        return NSDecimalNumber(decimal: value).intValue
    }

    @Test("two institutions: baseline snapshots, then new gaps raise one event and alert that institution's admins")
    func endToEnd() async throws {
        try await withPack { pack in
            let institutions = try await Self.seed(pack, institutions: 2)
            #expect(institutions.count == 2)
            let registry = try await pack.registry(pack.functions(CoveragePack()))
            try await pack.withWorker(registry) {
                let first = try await Self.run(pack)
                #expect(Self.output(first, "institutionsProcessed") == 2)
                #expect(try await pack.count("select count(*) from coverage.coverage_snapshots") == 2)
                #expect(try await pack.count("select count(*) from nightshift.events where name = 'coverage.gaps.detected'") == 0,
                        "a first snapshot is a baseline")

                try await pack.database.execute("select coverage.shift_coverage(\(institutions[0]), 3::int)")
                let second = try await Self.run(pack)
                #expect((Self.output(second, "totalGapsDetected") ?? 0) >= 1)
                #expect(try await pack.count("select count(*) from nightshift.events where name = 'coverage.gaps.detected'") == 1)
                #expect(try await pack.count("""
                    select count(*) from nightshift.events where name = 'coverage.gaps.detected' and data->>'institution_id' = \(institutions[0].uuidString.lowercased())
                    """) == 1, "only the institution that gained gaps")

                let admins = try await pack.count("select count(*) from coverage.institution_admins where institution_id = \(institutions[0])")
                let deadline = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < deadline,
                      try await pack.count("select count(*) from nightshift.runs where function_id = 'coverage/gap-alerts' and status = 'completed'") == 0 {
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(admins >= 1)
                #expect(try await pack.count("""
                    select count(*) from notify.notifications n join coverage.institution_admins a on a.user_id = n.user_id
                    where a.institution_id = \(institutions[0]) and n.title like 'Coverage gaps detected at %' and n.message like '%→%'
                    """) == admins, "one notification per admin, naming the cells")
                #expect(try await pack.count("select count(*) from coverage.coverage_job_runs where institutions_processed = 2 and institutions_failed = 0") == 2)
            }
        }
    }

    @Test("one institution failing for good is recorded; the other is processed and the telemetry row names the failure")
    func permanentFailure() async throws {
        try await withPack { pack in
            let institutions = try await Self.seed(pack, institutions: 2)
            try await pack.database.withConnection { connection in
                try await connection.executeScript("""
                    create function public.break_one() returns trigger language plpgsql as $$
                    begin
                        if new.institution_id = '\(institutions[1])' then raise exception 'broken curriculum'; end if;
                        return new;
                    end $$;
                    create trigger break_one before insert on coverage.coverage_snapshots for each row execute function public.break_one();
                    """)
            }
            let registry = try await pack.registry(pack.functions(CoveragePack()))
            try await pack.withWorker(registry) {
                let run = try await Self.run(pack)
                #expect(Self.output(run, "institutionsProcessed") == 1)
                #expect(Self.output(run, "institutionsFailed") == 1)
                #expect(try await pack.count("select count(*) from coverage.coverage_snapshots where institution_id = \(institutions[0])") == 1)
                let errors = try await pack.database.query("select errors::text from coverage.coverage_job_runs")[0].decode(String.self, at: 0)
                #expect(errors.contains(institutions[1].uuidString.lowercased()) && errors.contains("broken curriculum"))
            }
        }
    }

    @Test("a transient failure of one institution is retried after 1 s, 2 s and 4 s, within the run")
    func transientRetries() async throws {
        try await withPack { pack in
            let institutions = try await Self.seed(pack, institutions: 1)
            // A sequence is not rolled back with the failed statement: it counts attempts.
            try await pack.database.withConnection { connection in
                try await connection.executeScript("""
                    create sequence public.attempts;
                    create function public.flaky() returns trigger language plpgsql as $$
                    begin
                        if nextval('public.attempts') <= 3 then
                            raise exception 'could not serialize access' using errcode = 'serialization_failure';
                        end if;
                        return new;
                    end $$;
                    create trigger flaky before insert on coverage.coverage_snapshots for each row execute function public.flaky();
                    """)
            }
            let registry = try await pack.registry(pack.functions(CoveragePack()))
            try await pack.withWorker(registry) {
                let run = try await Self.run(pack)
                #expect(Self.output(run, "institutionsProcessed") == 1)
                #expect(run.attempt == 1, "retried inside the step, not by failing the run")
                let stored = try await pack.database.query("""
                    select s.output::text, a.started_at from nightshift.steps s join nightshift.runs a on a.id = s.run_id
                    where s.name = \("institution-" + institutions[0].uuidString.lowercased())
                    """)[0]
                let (json, started) = try stored.decode(String.self, Date.self)
                let outcome = try JSONDecoder.nightshift.decode(NightlyRecompute.InstitutionOutcome.self, from: Data(json.utf8))
                #expect(outcome.retriedAt.count == 3)
                #expect(outcome.error == nil)
                if outcome.retriedAt.count == 3 {
                    let first = outcome.retriedAt[0].timeIntervalSince(started)
                    let second = outcome.retriedAt[1].timeIntervalSince(outcome.retriedAt[0])
                    let third = outcome.retriedAt[2].timeIntervalSince(outcome.retriedAt[1])
                    #expect(first >= 1.0 && first < 1.9, "first retry after 1 s (\(first))")
                    #expect(second >= 2.0 && second < 2.9, "second retry 2 s later (\(second))")
                    #expect(third >= 4.0 && third < 4.9, "third retry 4 s later (\(third))")
                }
            }
        }
    }

    @Test("kill -9 mid-run: another worker resumes, skipping the institutions already done")
    func resumeAfterKill() async throws {
        try await withPack { pack in
            let institutions = try await Self.seed(pack, institutions: 3)
            try await pack.database.withConnection { connection in
                try await connection.executeScript("""
                    create function public.slow() returns trigger language plpgsql as $$
                    begin perform pg_sleep(1.5); return new; end $$;
                    create trigger slow before insert on coverage.coverage_snapshots for each row execute function public.slow();
                    """)
            }
            _ = try await pack.registry(pack.functions(CoveragePack()))
            let id = try await pack.trigger("coverage/nightly-recompute")
            let doomed = try WorkerProcess(databaseURL: pack.url, name: "coverage-doomed", ticker: false)
            let deadline = ContinuousClock.now + .seconds(40)
            while ContinuousClock.now < deadline,
                  try await pack.count("select count(*) from nightshift.steps where run_id = \(id) and name like 'institution-%'") == 0 {
                try await Task.sleep(for: .milliseconds(50))
            }
            doomed.kill()
            let survivor = try WorkerProcess(databaseURL: pack.url, name: "coverage-survivor", ticker: false)
            defer { survivor.stop() }
            let run = try await pack.wait(for: id, status: "completed", timeout: .seconds(60))
            #expect(Self.output(run, "institutionsProcessed") == institutions.count)
            #expect(try await pack.count("""
                select count(*) from (select institution_id from coverage.coverage_snapshots group by 1 having count(*) = 1) once
                """) == institutions.count, "every institution has exactly one snapshot: none was processed twice")
            #expect(try await pack.count("select count(*) from nightshift.run_attempts where run_id = \(id) and outcome = 'crashed'") == 1)
        }
    }

    @Test("a manual trigger for one institution processes that institution only")
    func oneInstitution() async throws {
        try await withPack { pack in
            let institutions = try await Self.seed(pack, institutions: 2)
            let registry = try await pack.registry(pack.functions(CoveragePack()))
            let job = try await pack.database.query("select (coverage.request_recompute(\(institutions[1])) ->> 'job_id')::uuid")[0].decode(UUID.self, at: 0)
            try await pack.withWorker(registry) {
                let run = try await pack.wait(for: job, status: "completed")
                #expect(Self.output(run, "institutionsProcessed") == 1)
            }
            #expect(try await pack.count("select count(*) from coverage.coverage_snapshots where institution_id = \(institutions[1])") == 1)
            #expect(try await pack.count("select count(*) from coverage.coverage_snapshots where institution_id = \(institutions[0])") == 0)
        }
    }
}
