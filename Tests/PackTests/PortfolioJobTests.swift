import Engine
import Foundation
import InMemoryTracing
import PortfolioProviderStub
import Postgres
import Testing
import TestSupport
import Tracing

/// portfolio/overnight-scoring and portfolio/cache-warmer end to end: a real database, the
/// provider stub over loopback HTTP, a worker.
@Suite("portfolio jobs", .serialized)
struct PortfolioJobTests {
    @Test("a handful of users: scored, four events each under one correlation id, cache warmed for 24 h, span figures")
    func endToEnd() async throws {
        let tracer = InMemoryTestTracer.shared
        try await PortfolioFixture.with(users: 5) { fixture in
            let pack = fixture.pack
            // A month of audit events older than the 2 years kept: the run's retention step drops it.
            try await pack.database.execute("select portfolio.ensure_calculation_event_partitions((current_date - interval '3 years')::date, 1)")
            let run = try await fixture.runOvernight()
            let jobRun = try await fixture.lastJobRun()
            #expect(jobRun.status == "completed")
            #expect(jobRun.processed == 5 && jobRun.failed == 0)
            #expect(jobRun.metrics["ratesStale"] == .bool(false))
            #expect(jobRun.metrics["audit_partitions_dropped"] == .number(1))
            #expect(try await pack.count("""
                select count(*) from pg_inherits where inhparent = 'portfolio.calculation_events'::regclass
                  and pg_get_expr((select relpartbound from pg_class where oid = inhrelid), inhrelid) like '%' || extract(year from now() - interval '3 years') || '%'
                """) == 0, "the partition of three years ago is gone")

            // Four events per user, in order, all carrying the run's correlation id.
            let events = try await pack.database.query("""
                select user_id, string_agg(event_type, ',' order by created_at)
                from portfolio.calculation_events where correlation_id = \(jobRun.correlationID) group by user_id order by user_id
                """).map { (try $0.decode(UUID.self, at: 0), try $0.decode(String.self, at: 1)) }
            #expect(events.map(\.0) == fixture.users)
            #expect(events.allSatisfy { $0.1 == "CALC_STARTED,INPUTS_CAPTURED,SCORES_COMPUTED,CALC_COMPLETED" })
            let otherCorrelations = try await pack.count("select count(*) from portfolio.calculation_events where correlation_id <> \(jobRun.correlationID)")
            #expect(otherCorrelations == 0)

            // Every user scored with the same rates, fetched once; prices fetched once per batch of symbols.
            #expect(fixture.stub.controls.requests(.rates) == 1)
            let symbols = try await pack.count("select count(*) from portfolio.job_run_prices where job_run_id = \(jobRun.id)")
            #expect(fixture.stub.controls.requests(.prices) == (symbols + 99) / 100)
            #expect(try await pack.count("""
                select count(distinct payload -> 'rates') from portfolio.calculation_events
                where correlation_id = \(jobRun.correlationID) and event_type = 'INPUTS_CAPTURED'
                """) == 1)
            let scored = try await pack.count("select count(*) from portfolio.asset_scores where correlation_id = \(jobRun.correlationID)")
            #expect(scored > 0)
            #expect(jobRun.metrics["assets_scored"] == .number(Decimal(scored)))
            #expect(try await pack.count("select count(distinct user_id) from portfolio.recommendations where job_run_id = \(jobRun.id)") > 0)

            // The warmer wrote both keys of every user, for 24 hours.
            let keys = try await pack.database.query("""
                select count(*) filter (where key like 'recs:%')::int, count(*) filter (where key like 'portfolio:%')::int,
                       bool_and(expires_at between now() + interval '23 hours 59 minutes' and now() + interval '24 hours')
                from cache.entries
                """)[0]
            #expect(try keys.decode(Int.self, at: 0) == 5 && keys.decode(Int.self, at: 1) == 5)
            #expect(try keys.decode(Bool.self, at: 2))
            for user in fixture.users {
                let cached = try await pack.count("select count(*) from cache.entries where key = 'recs:' || \(user)::text and user_id = \(user)")
                #expect(cached == 1)
            }

            // The job's span carries the figures, the same as the telemetry row's.
            let span = try #require(tracer.finishedSpans.first {
                $0.operationName == "overnight-scoring-job"
                    && $0.attributes["users_total"]?.toSpanAttribute() == .int64(5)
                    && $0.attributes["assets_scored"]?.toSpanAttribute() == .int64(Int64(scored))
            })
            #expect(span.attributes["users_success"]?.toSpanAttribute() == .int64(5))
            #expect(span.attributes["users_failed"]?.toSpanAttribute() == .int64(0))
            #expect(span.attributes["fetch_rates_ms"] != nil)
            #expect(span.attributes["total_duration_ms"] != nil)
            #expect(span.status?.code == .ok)
            #expect(run.status == "completed")
        }
    }

    @Test("rates are fetched once per run, also when a later step fails and the run is retried")
    func ratesOnceAcrossRetry() async throws {
        try await PortfolioFixture.with(users: 4) { fixture in
            // The price provider fails every attempt of the first fetch (4 attempts), then recovers.
            fixture.stub.controls.failNext(4, on: .prices, status: 503)
            let run = try await fixture.runOvernight()
            #expect(run.attempt == 2, "the first attempt failed in fetch-prices")
            #expect(fixture.stub.controls.requests(.rates) == 1)
            let jobRun = try await fixture.lastJobRun()
            #expect(jobRun.status == "completed")
            let distinctRates = try await fixture.pack.count("""
                select count(distinct payload -> 'rates') from portfolio.calculation_events
                where correlation_id = \(jobRun.correlationID) and event_type = 'INPUTS_CAPTURED'
                """)
            #expect(distinctRates == 1)
            #expect(try await fixture.pack.count("select count(*) from portfolio.overnight_job_runs") == 1, "the retry reused its row")
        }
    }

    @Test("one failing user: the run is partial, the failure is recorded with context, the others are scored")
    func oneFailingUser() async throws {
        try await PortfolioFixture.with(users: 4) { fixture in
            let pack = fixture.pack
            let failing = fixture.users[1]
            // No criteria version: the user cannot be scored.
            try await pack.database.execute("delete from portfolio.criteria_versions where user_id = \(failing)")
            try await fixture.runOvernight()
            let jobRun = try await fixture.lastJobRun()
            #expect(jobRun.status == "partial")
            #expect(jobRun.processed == 4 && jobRun.failed == 1)
            #expect(jobRun.metrics["users_success"] == .number(3))
            let details = try await pack.database.query("""
                select e ->> 'userId', e ->> 'message' from portfolio.overnight_job_runs r, jsonb_array_elements(r.error_details) e
                where r.id = \(jobRun.id)
                """).map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1)) }
            #expect(details.map(\.0) == [failing.uuidString.lowercased()])
            #expect(details.first?.1.contains("criteria") == true, "\(details)")
            let failedEvents = try await pack.database.query("""
                select string_agg(event_type, ',' order by created_at) from portfolio.calculation_events
                where correlation_id = \(jobRun.correlationID) and user_id = \(failing)
                """)[0].decode(String.self, at: 0)
            #expect(failedEvents == "CALC_STARTED,CALC_FAILED")
            let scoredUsers = try await pack.count("select count(distinct user_id) from portfolio.asset_scores where correlation_id = \(jobRun.correlationID)")
            #expect(scoredUsers == 3)
            #expect(try await pack.count("select count(*) from cache.entries where key like 'recs:%'") == 3, "only scored users are warmed")
        }
    }

    @Test("rate provider down: the last stored rates are used and the run's data is marked stale")
    func ratesProviderDown() async throws {
        try await PortfolioFixture.with(users: 3) { fixture in
            let pack = fixture.pack
            try await fixture.runOvernight()
            let first = try await fixture.lastJobRun()
            fixture.stub.controls.ratesDown = true
            try await fixture.runOvernight()
            let second = try await fixture.lastJobRun()
            #expect(second.id != first.id)
            #expect(second.status == "completed")
            #expect(second.metrics["ratesStale"] == .bool(true))
            #expect(second.metrics["ratesAsOf"] == first.metrics["ratesAsOf"])
            #expect(second.metrics["ratesProblem"]?.string?.contains("unavailable") == true, "\(String(describing: second.metrics["ratesProblem"]))")
            // The snapshot is the stored one, rate for rate.
            let differing = try await pack.count("""
                select count(*) from portfolio.job_run_rates a
                full join portfolio.job_run_rates b on b.job_run_id = \(first.id) and b.quote = a.quote
                where a.job_run_id = \(second.id) and (b.rate is null or a.rate <> b.rate)
                """)
            #expect(differing == 0)
            // The cache says so too.
            let stale = try await pack.database.query("""
                select cache.get('recs:' || \(fixture.users[0])::text) -> 'dataFreshness' ->> 'ratesStale'
                """)[0].decode(String?.self, at: 0)
            #expect(stale == "true")
        }
    }

    @Test("a rate provider answering nonsense ends the run at once, and its telemetry row says failed")
    func ratesNonsense() async throws {
        try await PortfolioFixture.with(users: 2) { fixture in
            fixture.stub.controls.setBody(#"{"base": "EUR", "date": "2026-11-23", "rates": {"USD": 1.08}}"#, for: .rates)
            let run = try await fixture.runOvernight(expect: "failed")
            #expect(run.attempt == 1, "not retried: the answer will not change")
            #expect(String(describing: run.error).contains("asked for base USD"), "\(String(describing: run.error))")
            let jobRun = try await fixture.lastJobRun()
            #expect(jobRun.status == "failed")
            #expect(try await fixture.pack.count("select count(*) from portfolio.asset_scores") == 0)
        }
    }

    @Test("kill -9 mid-batch: another worker resumes; the rates are not fetched again and no user is scored twice")
    func resumeAfterKill() async throws {
        try await PortfolioFixture.with(users: 4) { fixture in
            let pack = fixture.pack
            // Each batch's history insert takes 3 s: time to kill the worker inside the batch.
            try await pack.database.withConnection { connection in
                try await connection.executeScript("""
                    create function public.slow() returns trigger language plpgsql as $$
                    begin perform pg_sleep(3); return null; end $$;
                    create trigger slow before insert on portfolio.score_history for each statement execute function public.slow();
                    """)
            }
            let providers = ["PORTFOLIO_RATES_URL": fixture.stub.baseURL, "PORTFOLIO_PRICES_URL": fixture.stub.baseURL]
            let id = try await pack.trigger("portfolio/overnight-scoring")
            let doomed = try WorkerProcess(databaseURL: pack.url, name: "portfolio-doomed", ticker: false, environment: providers)
            let deadline = ContinuousClock.now + .seconds(40)
            while ContinuousClock.now < deadline,
                  try await pack.count("select count(*) from nightshift.steps where run_id = \(id) and name = 'fetch-prices'") == 0 {
                try await Task.sleep(for: .milliseconds(50))
            }
            try await Task.sleep(for: .milliseconds(500))
            doomed.kill()
            let survivor = try WorkerProcess(databaseURL: pack.url, name: "portfolio-survivor", ticker: false, environment: providers)
            defer { survivor.stop() }
            _ = try await pack.wait(for: id, status: "completed", timeout: .seconds(60))
            #expect(fixture.stub.controls.requests(.rates) == 1, "the resumed run used the checkpointed rates")
            #expect(try await pack.count("select count(*) from nightshift.run_attempts where run_id = \(id) and outcome = 'crashed'") == 1)
            let jobRun = try await fixture.lastJobRun()
            #expect(jobRun.status == "completed" && jobRun.processed == 4)
            let eventsPerUser = try await pack.database.query("""
                select count(*)::int from portfolio.calculation_events where correlation_id = \(jobRun.correlationID) group by user_id
                """).map { try $0.decode(Int.self, at: 0) }
            #expect(eventsPerUser == [4, 4, 4, 4], "the killed batch's writes were never committed")
        }
    }
}
