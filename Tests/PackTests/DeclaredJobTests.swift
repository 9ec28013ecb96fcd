import Config
@testable import Engine
import Foundation
import HTTPClient
import JWTKit
import Postgres
import ServiceTokens
import Testing

/// Jobs without Swift (issue 13 §2): config-declared SQL and HTTP jobs run by a real worker
/// against a real cluster and a loopback endpoint.
@Suite("config-declared jobs", .serialized)
struct DeclaredJobTests {
    static func function(_ job: DeclaredJob, _ pack: PackHarness) -> NightshiftFunction {
        let credential = ServiceCredential(auth: pack.config.auth, projectID: pack.config.projectID)
        return NightshiftFunction.declared(job, http: pack.http, bearer: { url in try await credential.bearer(for: url) })
    }

    /// What the worker (nightshift_app) may touch: a table, a sequence and a flaky function.
    static func setUp(_ pack: PackHarness) async throws {
        try await pack.database.withConnection { connection in
            try await connection.executeScript("""
                create table public.job_marks (note text not null, at timestamptz not null default now());
                create sequence public.flaky_calls;
                -- Raises a serialization failure on its first call only: the sequence is not rolled back.
                create function public.flaky() returns bigint language plpgsql as $$
                declare v bigint := nextval('public.flaky_calls');
                begin
                    if v = 1 then
                        raise exception 'could not serialize access (simulated)' using errcode = '40001';
                    end if;
                    insert into public.job_marks (note) values ('flaky ' || v);
                    return v;
                end $$;
                grant insert, select on public.job_marks to nightshift_app;
                grant usage on sequence public.flaky_calls to nightshift_app;
                grant execute on function public.flaky() to nightshift_app;
                """)
        }
    }

    static func marks(_ pack: PackHarness) async throws -> [String] {
        try await pack.database.query("select note from public.job_marks order by at, note").map { try $0.decode(String.self, at: 0) }
    }

    @Test("a SQL job runs its statement in a transaction, completes, and the database records its kind and body")
    func sqlJobTriggered() async throws {
        try await withPack { pack in
            try await Self.setUp(pack)
            let job = DeclaredJob(
                id: "ops/mark", work: .sql("insert into public.job_marks (note) values ('ran')"), retries: 1, timeout: .seconds(5))
            let registry = try await pack.registry([Self.function(job, pack)])
            let row = try await pack.database.query("""
                select kind, body->>'sql', defined_in, max_attempts, timeout_ms from nightshift.functions where id = 'ops/mark'
                """)[0].decode(String.self, String.self, String.self, Int.self, Int.self)
            #expect(row.0 == "sql" && row.1 == "insert into public.job_marks (note) values ('ran')" && row.2 == "code")
            #expect(row.3 == 2 && row.4 == 5000)
            try await pack.withWorker(registry) {
                let run = try await pack.wait(for: try await pack.trigger("ops/mark"), status: "completed")
                #expect(run.output == .object(["rows": .number(1)]))
                #expect(run.attempt == 1)
            }
            #expect(try await Self.marks(pack) == ["ran"])
        }
    }

    @Test("a SQL job on a '1 seconds' schedule fires from tick() and completes")
    func sqlJobOnSchedule() async throws {
        try await withPack { pack in
            try await Self.setUp(pack)
            let job = DeclaredJob(id: "ops/every-second", work: .sql("insert into public.job_marks (note) values ('tick')"), cron: "1 seconds")
            let registry = try await pack.registry([Self.function(job, pack)])
            #expect(try await pack.count("select count(*) from nightshift.schedules where function_id = 'ops/every-second' and enabled") == 1)
            try await pack.withWorker(registry) {
                let deadline = ContinuousClock.now + .seconds(15)
                while ContinuousClock.now < deadline,
                      try await pack.count("select count(*) from nightshift.runs where function_id = 'ops/every-second' and status = 'completed'") == 0 {
                    _ = try await pack.database.query("select nightshift.tick()")
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            let cron = try await pack.count("""
                select count(*) from nightshift.runs where function_id = 'ops/every-second' and status = 'completed' and trigger_kind = 'cron' and trigger_slot is not null
                """)
            #expect(cron >= 1)
            #expect(try await Self.marks(pack).contains("tick"))
        }
    }

    @Test("a serialization failure (40001) is retried with the backoff; attempt 2 completes and attempt 1 is recorded")
    func sqlJobRetriesSerializationFailure() async throws {
        try await withPack { pack in
            try await Self.setUp(pack)
            let job = DeclaredJob(id: "ops/flaky", work: .sql("select public.flaky()"), retries: 2)
            let registry = try await pack.registry([Self.function(job, pack)])
            try await pack.withWorker(registry) {
                let id = try await pack.trigger("ops/flaky")
                let run = try await pack.wait(for: id, status: "completed")
                #expect(run.attempt == 2)
                let attempts = try await pack.database.query("""
                    select attempt, outcome, error->>'sqlstate', (error->>'retriable')::boolean from nightshift.run_attempts
                    where run_id = \(id) order by attempt
                    """).map { try $0.decode(Int.self, String.self, String?.self, Bool?.self) }
                #expect(attempts.count >= 1)
                #expect(attempts.first?.0 == 1 && attempts.first?.1 == "retrying")
                #expect(attempts.first?.2 == "40001" && attempts.first?.3 == true)
            }
            #expect(try await Self.marks(pack) == ["flaky 2"])
        }
    }

    @Test("any other SQL error fails the run at once, naming the SQLSTATE")
    func sqlJobPermanentError() async throws {
        try await withPack { pack in
            let job = DeclaredJob(id: "ops/broken", work: .sql("select 1 / 0"), retries: 3)
            let registry = try await pack.registry([Self.function(job, pack)])
            try await pack.withWorker(registry) {
                let run = try await pack.wait(for: try await pack.trigger("ops/broken"), status: "failed")
                #expect(run.attempt == 1, "not retried")
                #expect("\(String(describing: run.error))".contains("SQLSTATE 22012"), "\(String(describing: run.error))")
            }
        }
    }

    @Test("the job's timeout is the statement's statement_timeout: past it the attempt times out")
    func sqlJobTimeout() async throws {
        try await withPack { pack in
            let job = DeclaredJob(id: "ops/slow", work: .sql("select pg_sleep(10)"), retries: 0, timeout: .milliseconds(300))
            let registry = try await pack.registry([Self.function(job, pack)])
            try await pack.withWorker(registry) {
                let started = ContinuousClock.now
                let run = try await pack.wait(for: try await pack.trigger("ops/slow"), status: "failed")
                #expect(ContinuousClock.now - started < .seconds(8), "the statement did not run its 10 s")
                #expect("\(String(describing: run.error))".contains("timed out"), "\(String(describing: run.error))")
            }
        }
    }

    @Test("an HTTP job sends a service token, is retried after a 503, and the JSON answer becomes the output")
    func httpJobRetries503() async throws {
        try await withPack { pack in
            let key = UUID().uuidString
            let url = try await JobReceiver.url(key: key, failures: 1, status: 503)
            let job = DeclaredJob(
                id: "crm/sync", work: .http(.init(url: url, method: "POST", timeout: .seconds(5), headers: ["X-Team": "crm"])), retries: 2)
            let registry = try await pack.registry([Self.function(job, pack)])
            let row = try await pack.database.query("""
                select kind, body->>'url', body->>'method', (body->>'timeout_ms')::int, body->'headers'->>'X-Team' from nightshift.functions where id = 'crm/sync'
                """)[0].decode(String.self, String.self, String.self, Int.self, String.self)
            #expect(row.0 == "http" && row.1 == url && row.2 == "POST" && row.3 == 5000 && row.4 == "crm")
            try await pack.withWorker(registry) {
                let run = try await pack.wait(for: try await pack.trigger("crm/sync", payload: #"{"since": "2026-12-01"}"#), status: "completed")
                #expect(run.attempt == 2)
                #expect(run.output == .object(["ok": .bool(true), "hit": .number(2)]))
            }
            let requests = await JobReceiver.requests(key)
            #expect(requests.count == 2)
            #expect(requests.allSatisfy { $0.method == "POST" && $0.team == "crm" && $0.body.contains("2026-12-01") })

            // The bearer is a service token minted with the project's secret.
            struct Claims: JWTPayload {
                let role: String
                let exp: ExpirationClaim
                func verify(using algorithm: some JWTAlgorithm) async throws { try exp.verifyNotExpired() }
            }
            let keys = JWTKeyCollection()
            await keys.add(hmac: HMACKey(from: pack.config.auth.jwtSecret), digestAlgorithm: .sha256)
            for request in requests {
                let authorization = try #require(request.authorization)
                #expect(authorization.hasPrefix("Bearer "))
                let claims = try await keys.verify(String(authorization.dropFirst("Bearer ".count)), as: Claims.self)
                #expect(claims.role == "service_role")
            }
        }
    }

    @Test("functions defined from SQL: loaded at worker start, a new one picked up on NOTIFY, a dropped one no longer run")
    func definedFromSQL() async throws {
        try await withPack { pack in
            try await Self.setUp(pack)
            let key = UUID().uuidString
            let url = try await JobReceiver.url(key: key)
            _ = try await pack.database.query("""
                select nightshift.define_function('ops/defined-sql', 'sql', '"insert into public.job_marks (note) values (''defined'')"',
                                                  retries => 0, timeout => '5 seconds')
                """)
            // A worker whose registry declares nothing of these (its own sync leaves them alone).
            let registry = try await pack.registry([])
            let credential = ServiceCredential(auth: pack.config.auth, projectID: pack.config.projectID)
            let defined = DefinedFunctions(http: pack.http, bearer: { url in try await credential.bearer(for: url) })
            let worker = Worker(
                registry: registry, database: pack.appDatabase,
                options: WorkerOptions(concurrency: 2, pollInterval: .milliseconds(100), drainTimeout: .seconds(2), workerID: "defined-tests"),
                logger: PackHarness.logger, defined: defined)
            let task = Task { try await worker.run() }
            defer { task.cancel() }

            let first = try await pack.wait(for: try await pack.trigger("ops/defined-sql"), status: "completed")
            #expect(first.output == .object(["rows": .number(1)]))
            #expect(try await Self.marks(pack) == ["defined"])

            // Defined while the worker runs: the NOTIFY makes it load the new function.
            _ = try await pack.database.query("""
                select nightshift.define_function('crm/defined-http', 'http', \(#"{"url": "\#(url)", "method": "POST"}"#)::jsonb)
                """)
            let second = try await pack.wait(for: try await pack.trigger("crm/defined-http"), status: "completed")
            #expect(second.output == .object(["ok": .bool(true), "hit": .number(1)]))
            #expect(await JobReceiver.requests(key).first?.authorization?.hasPrefix("Bearer ") == true)

            // Dropped: the worker unloads it, so a run queued anyway is left to the retired grace.
            _ = try await pack.database.query("select nightshift.drop_function('ops/defined-sql')")
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline, worker.function("ops/defined-sql") != nil {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(worker.function("ops/defined-sql") == nil)
            #expect(worker.function("crm/defined-http") != nil)
            task.cancel()
            _ = await task.result
        }
    }

    @Test("an HTTP job's 400 fails the run at once; a non-JSON answer gives {status}")
    func httpJob400AndPlain() async throws {
        try await withPack { pack in
            let bad = UUID().uuidString
            let plain = UUID().uuidString
            let jobs = [
                DeclaredJob(id: "crm/bad", work: .http(.init(url: try await JobReceiver.url(key: bad, failures: 5, status: 400))), retries: 3),
                DeclaredJob(id: "crm/plain", work: .http(.init(url: try await JobReceiver.url(key: plain, plain: true), method: "GET"))),
            ]
            let registry = try await pack.registry(jobs.map { Self.function($0, pack) })
            try await pack.withWorker(registry) {
                let failed = try await pack.wait(for: try await pack.trigger("crm/bad"), status: "failed")
                #expect(failed.attempt == 1, "not retried")
                #expect("\(String(describing: failed.error))".contains("HTTP 400"), "\(String(describing: failed.error))")
                let done = try await pack.wait(for: try await pack.trigger("crm/plain"), status: "completed")
                #expect(done.output == .object(["status": .number(200)]))
            }
            #expect(await JobReceiver.requests(bad).count == 1)
            #expect(await JobReceiver.requests(plain).first?.method == "GET")
        }
    }

    @Test("an HTTP header's ${NAME} is the worker's environment at call time; a missing variable fails the run, naming it")
    func httpJobHeaderFromEnvironment() async throws {
        try await withPack { pack in
            let token = "tok-\(UUID().uuidString.prefix(8))"
            setenv("NS_DECL_TEST_CRM_TOKEN", token, 1)
            unsetenv("NS_DECL_TEST_MISSING")
            let sent = UUID().uuidString, unsent = UUID().uuidString
            let jobs = [
                DeclaredJob(id: "crm/env", work: .http(.init(
                    url: try await JobReceiver.url(key: sent), headers: ["Authorization": "Bearer ${NS_DECL_TEST_CRM_TOKEN}"])), retries: 0),
                DeclaredJob(id: "crm/missing", work: .http(.init(
                    url: try await JobReceiver.url(key: unsent), headers: ["Authorization": "Bearer ${NS_DECL_TEST_MISSING}"])), retries: 2),
            ]
            let registry = try await pack.registry(jobs.map { Self.function($0, pack) })
            let stored = try await pack.database.query("""
                select body->'headers'->>'Authorization' from nightshift.functions where id = 'crm/env'
                """)[0].decode(String.self, at: 0)
            #expect(stored == "Bearer ${NS_DECL_TEST_CRM_TOKEN}", "the database holds the reference, not the secret")
            try await pack.withWorker(registry) {
                _ = try await pack.wait(for: try await pack.trigger("crm/env"), status: "completed")
                let failed = try await pack.wait(for: try await pack.trigger("crm/missing"), status: "failed")
                #expect(failed.attempt == 1, "not retried: the variable will not appear by itself")
                #expect("\(String(describing: failed.error))".contains("${NS_DECL_TEST_MISSING} is not set in the worker"),
                        "\(String(describing: failed.error))")
            }
            #expect(await JobReceiver.requests(sent).map(\.authorization) == ["Bearer \(token)"])
            #expect(await JobReceiver.requests(unsent).isEmpty, "nothing is sent with a literal ${…}")
        }
    }

    @Test("a failed SQL job's error carries its SQLSTATE, a failed HTTP job's its status")
    func errorFields() async throws {
        try await withPack { pack in
            let jobs = [
                DeclaredJob(id: "ops/div", work: .sql("select 1 / 0"), retries: 0),
                DeclaredJob(id: "crm/gone", work: .http(.init(url: try await JobReceiver.url(key: UUID().uuidString, failures: 5, status: 404))), retries: 0),
            ]
            let registry = try await pack.registry(jobs.map { Self.function($0, pack) })
            try await pack.withWorker(registry) {
                let div = try await pack.wait(for: try await pack.trigger("ops/div"), status: "failed")
                let gone = try await pack.wait(for: try await pack.trigger("crm/gone"), status: "failed")
                func fields(_ id: UUID) async throws -> (String?, String?) {
                    try await pack.database.query("select error->>'sqlstate', error->>'http_status' from nightshift.runs where id = \(id)")[0]
                        .decode(String?.self, String?.self)
                }
                let divFields = try await fields(div.id), goneFields = try await fields(gone.id)
                #expect(divFields.0 == "22012" && divFields.1 == nil, "ops/div: \(divFields)")
                #expect(goneFields.0 == nil && goneFields.1 == "404", "crm/gone: \(goneFields)")
            }
        }
    }

    @Test("without the NOTIFY, the periodic check picks up a new function defined from SQL, and a dropped one")
    func definedReloadWithoutNotify() async throws {
        try await withPack { pack in
            let registry = try await pack.registry([])
            let credential = ServiceCredential(auth: pack.config.auth, projectID: pack.config.projectID)
            let defined = DefinedFunctions(http: pack.http, bearer: { url in try await credential.bearer(for: url) })
            let worker = Worker(
                registry: registry, database: pack.appDatabase,
                options: WorkerOptions(
                    concurrency: 2, pollInterval: .milliseconds(100), drainTimeout: .seconds(2), workerID: "silent-tests",
                    definedFunctionsCheck: .milliseconds(200)),
                logger: PackHarness.logger, defined: defined)
            let task = Task { try await worker.run() }
            defer { task.cancel() }
            try await Task.sleep(for: .milliseconds(300))  // started, its first load done

            // Defined as define_function does, minus its NOTIFY: what a worker behind a
            // transaction pooler sees (LISTEN hears nothing there).
            try await pack.database.withConnection { connection in
                try await connection.executeScript("""
                    select nightshift._upsert_function('{"id": "ops/silent", "kind": "sql", "body": {"sql": "select 1"}, "max_attempts": 1}');
                    update nightshift.functions set defined_in = 'sql', updated_at = now() where id = 'ops/silent';
                    """)
            }
            let run = try await pack.wait(for: try await pack.trigger("ops/silent"), status: "completed", timeout: .seconds(10))
            #expect(run.output == .object(["rows": .number(1)]))

            try await pack.database.withConnection { connection in
                try await connection.executeScript("update nightshift.functions set retired_at = now(), updated_at = now() where id = 'ops/silent'")
            }
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline, worker.function("ops/silent") != nil {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(worker.function("ops/silent") == nil, "the retired function is unloaded")
            task.cancel()
            _ = await task.result
        }
    }
}
