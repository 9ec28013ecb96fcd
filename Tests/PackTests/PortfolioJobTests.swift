import Config
import Engine
import HTTPClient
import NightshiftKit
import PortfolioPack
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

    @Test("kill -9 mid-batch: the checkpoints hold the snapshot's counts, not the user ids; the resumed run scores the snapshot's users once each, whoever left since")
    func resumeFromSnapshot() async throws {
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
            // A user leaves between the crash and the resume: the run still scores its snapshot.
            try await pack.database.execute("update portfolio.users set active = false where id = \(fixture.users[0])")
            let survivor = try WorkerProcess(databaseURL: pack.url, name: "portfolio-survivor", ticker: false, environment: providers)
            defer { survivor.stop() }
            _ = try await pack.wait(for: id, status: "completed", timeout: .seconds(60))
            #expect(try await pack.count("select count(*) from nightshift.run_attempts where run_id = \(id) and outcome = 'crashed'") == 1)
            let jobRun = try await fixture.lastJobRun()
            #expect(jobRun.status == "completed" && jobRun.processed == 4)
            let scored = try await pack.database.query("""
                select user_id, count(*)::int from portfolio.calculation_events where correlation_id = \(jobRun.correlationID)
                group by user_id order by user_id
                """).map { (try $0.decode(UUID.self, at: 0), try $0.decode(Int.self, at: 1)) }
            #expect(scored.map(\.0) == fixture.users, "exactly the snapshot's users, the one who left since included")
            #expect(scored.allSatisfy { $0.1 == 4 }, "none twice")
            #expect(try await pack.count("""
                select count(*) from nightshift.steps s, unnest(\(fixture.users)::uuid[]) u
                where s.run_id = \(id) and strpos(lower(s.output::text), u::text) > 0
                """) == 0, "no checkpoint holds a user id")
            #expect(try await pack.count("""
                select (output ->> 'users')::int * 100 + (output ->> 'batches')::int from nightshift.steps
                where run_id = \(id) and name = 'snapshot-users'
                """) == 401, "the snapshot's checkpoint: 4 users in 1 batch")
        }
    }

    @Test("a run that checkpointed its whole user list (before the snapshot) resumes with that list")
    func resumeLegacyUserList() async throws {
        try await PortfolioFixture.with(users: 4) { fixture in
            let pack = fixture.pack
            let chosen = [fixture.users[2], fixture.users[0]]
            let id = try await pack.trigger("portfolio/overnight-scoring")
            // As a worker of the previous release left it: list-users done, with the ids in it.
            let list = "[" + chosen.map { "\"\($0.uuidString)\"" }.joined(separator: ",") + "]"
            try await pack.database.execute("""
                insert into nightshift.steps (run_id, name, output, attempt) values (\(id), 'list-users', \(list)::jsonb, 1)
                """)
            // It ran before, so it has a start (a claim returns steps only of runs claimed before).
            try await pack.database.execute("update nightshift.runs set started_at = now() - interval '1 minute' where id = \(id)")
            try await pack.withWorker(fixture.registry) {
                _ = try await pack.wait(for: id, status: "completed", timeout: .seconds(120))
                try await fixture.waitForWarmer()
            }
            let jobRun = try await fixture.lastJobRun()
            #expect(jobRun.status == "completed" && jobRun.processed == 2)
            let scored = try await pack.database.query("""
                select user_id from portfolio.calculation_events
                where correlation_id = \(jobRun.correlationID) and event_type = 'CALC_COMPLETED' order by user_id
                """).map { try $0.decode(UUID.self, at: 0) }
            #expect(scored == chosen.sorted { $0.uuidString < $1.uuidString }, "the checkpointed list's users, nobody else")
            #expect(try await pack.count("select count(*) from portfolio.overnight_run_users where job_run_id = \(jobRun.id)") == 0)
            #expect(try await pack.count("select count(*) from nightshift.steps where run_id = \(id) and name like 'score-batch-%'") == 1,
                "2 users, batches of 2")
        }
    }

    @Test("price provider down through every attempt: stale prices from the store, the run partial with its reason, a user without any price fails alone")
    func pricesDownPartial() async throws {
        try await PortfolioFixture.with(users: 3) { fixture in
            let pack = fixture.pack
            try await fixture.runOvernight()
            let first = try await fixture.lastJobRun()
            // An asset no provider ever priced, held by the first user only.
            let lonely = fixture.users[0]
            try await pack.database.execute("""
                insert into portfolio.assets (id, symbol, market_code, asset_class, currency)
                select 'b0000000-0000-4000-8000-0000000000ff', 'NEVERPRICED', a.market_code, a.asset_class, a.currency
                from portfolio.assets a order by a.market_code, a.symbol limit 1
                """)
            try await pack.database.execute("""
                insert into portfolio.holdings (portfolio_id, asset_id, quantity)
                select p.id, 'b0000000-0000-4000-8000-0000000000ff', 5 from portfolio.portfolios p where p.user_id = \(lonely) limit 1
                """)
            fixture.stub.controls.setDown(.prices, true)
            let run = try await fixture.runOvernight()
            #expect(run.attempt == run.maxAttempts, "the earlier attempts failed in fetch-prices and were retried with backoff")
            let second = try await fixture.lastJobRun()
            #expect(second.id != first.id)
            #expect(second.status == "partial")
            #expect(second.processed == 3 && second.failed == 1)
            #expect(second.metrics["pricesStale"] == .bool(true))
            #expect(second.metrics["pricesAsOf"] == first.metrics["pricesAsOf"], "the stored prices keep their own age")
            #expect(run.output?["outcome"] == .string("partial"))
            let reason = try #require(run.output?["reason"]?.string)
            #expect(reason.contains("1 of 3 users failed") && reason.contains("the price provider did not answer"), "\(reason)")
            #expect(reason.contains("unavailable"), "\(reason)")
            let stored = try await pack.database.query("select reason from portfolio.overnight_job_runs where id = \(second.id)")[0]
                .decode(String?.self, at: 0)
            #expect(stored == reason, "the run's row says the same")
            // The user with no price at all fails alone, recorded per user; the others are scored.
            let details = try await pack.database.query("""
                select e ->> 'userId', e ->> 'message' from portfolio.overnight_job_runs r, jsonb_array_elements(r.error_details) e
                where r.id = \(second.id)
                """).map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1)) }
            #expect(details.map(\.0) == [lonely.uuidString.lowercased()])
            #expect(details.first?.1.contains("NEVERPRICED") == true, "\(details)")
            let completed = try await pack.database.query("""
                select user_id from portfolio.calculation_events
                where correlation_id = \(second.correlationID) and event_type = 'CALC_COMPLETED' order by user_id
                """).map { try $0.decode(UUID.self, at: 0) }
            #expect(completed == Array(fixture.users[1...]))
            // Every price the scored users' audit records is the stored one, marked stale with its age.
            let prices = try await pack.database.query("""
                select count(*)::int, count(*) filter (where p.value ->> 'stale' = 'true' and p.value ? 'asOf')::int
                from portfolio.calculation_events e, jsonb_each(e.payload -> 'prices') p
                where e.correlation_id = \(second.correlationID) and e.event_type = 'INPUTS_CAPTURED'
                """)[0]
            #expect(try prices.decode(Int.self, at: 0) > 0)
            #expect(try prices.decode(Int.self, at: 0) == prices.decode(Int.self, at: 1))
            // And the user sees it.
            let freshness = try await pack.database.query("""
                select (cache.get('recs:' || \(fixture.users[1])::text) -> 'dataFreshness')::text
                """)[0].decode(String.self, at: 0)
            let object = try JSONValue(json: freshness)
            #expect(object["stale"] == .bool(true) && object["pricesStale"] == .bool(true), "\(freshness)")
        }
    }

    @Test("every promised signal: span figures, the started/completed events with metrics and the warmer's, a log line per batch, masked user ids, CALC_COMPLETED's own duration")
    func signals() async throws {
        let tracer = InMemoryTestTracer.shared
        try await PortfolioFixture.with(users: 4) { fixture in
            let pack = fixture.pack
            let failing = fixture.users[1]
            try await pack.database.execute("delete from portfolio.criteria_versions where user_id = \(failing)")
            let capture = LogCapture()
            try await fixture.runOvernight(logger: capture.logger)
            let jobRun = try await fixture.lastJobRun()
            let correlation = jobRun.correlationID.uuidString.lowercased()
            let recommendations = try await pack.count("select count(*) from portfolio.recommendations where job_run_id = \(jobRun.id)")

            // Spans: the job's, and the cache warmer's.
            let span = try #require(tracer.finishedSpans.first {
                $0.operationName == "overnight-scoring-job" && $0.attributes["correlation_id"]?.toSpanAttribute() == .string(correlation)
            })
            #expect(span.attributes["process_users_ms"] != nil)
            #expect(span.attributes["recommendations_generated"]?.toSpanAttribute() == .int64(Int64(recommendations)))
            #expect(span.attributes["users_failed"]?.toSpanAttribute() == .int64(1))
            let warmer = try #require(tracer.finishedSpans.first {
                $0.operationName == "cache-warmer-job" && $0.attributes["correlation_id"]?.toSpanAttribute() == .string(correlation)
            })
            #expect(warmer.attributes["cache_warm_ms"] != nil)
            #expect(warmer.attributes["users_warmed"]?.toSpanAttribute() == .int64(3))
            // The run's row holds the same figures, the warmer's included.
            #expect(jobRun.metrics["process_users_ms"] != nil)
            #expect(jobRun.metrics["recommendations_generated"] == .number(Decimal(recommendations)))
            #expect(jobRun.metrics["cache_warm_ms"] != nil && jobRun.metrics["users_warmed"] == .number(3))

            // Events: started and completed, the scoring's and the warmer's, with their figures.
            let events = try await pack.database.query("""
                select name, data::text from nightshift.events where lower(data ->> 'correlationId') = \(correlation) order by created_at
                """).map { (try $0.decode(String.self, at: 0), try JSONValue(json: try $0.decode(String.self, at: 1))) }
            #expect(events.map(\.0) == [
                "portfolio/scoring.started", "portfolio/scoring.completed", "portfolio/warming.started", "portfolio/warming.completed",
            ])
            if events.count == 4 {
                #expect(events[0].1["userCount"] == .number(4) && events[0].1["jobType"] == .string("scoring"))
                #expect(events[0].1["targetMarkets"]?.array?.isEmpty == false)
                #expect(events[1].1["metrics"]?["process_users_ms"] != nil && events[1].1["metrics"]?["users_failed"] == .number(1))
                #expect(events[1].1["status"] == .string("partial") && events[1].1["reason"]?.string != nil)
                #expect(events[3].1["usersWarmed"] == .number(3) && events[3].1["cacheWarmMs"] != nil)
            }

            // Logs: started, one line per batch with its counts, completed; no full user id anywhere.
            let lines = capture.all
            let started = try #require(lines.first { $0.message == "overnight job started" })
            #expect(started.metadata["user_count"] == "4" && started.metadata["correlation_id"] == correlation)
            let batches = lines.filter { $0.message == "user batch processed" }
            #expect(batches.map { $0.metadata["batch_number"] } == ["1", "2"])
            #expect(batches.map { $0.metadata["users_processed"] } == ["2", "2"])
            #expect(batches.compactMap { $0.metadata["users_failed"].flatMap(Int.init) }.reduce(0, +) == 1)
            #expect(batches.allSatisfy { $0.metadata["duration"] != nil && $0.metadata["assets_scored"] != nil })
            let failed = try #require(lines.first { $0.message == "user processing failed" })
            let full = failing.uuidString.lowercased()
            #expect(failed.metadata["user_id"] == "\(full.prefix(4))…\(full.suffix(4))")
            #expect(failed.metadata["error"]?.contains("criteria") == true)
            #expect(lines.contains { $0.message == "overnight job completed" && $0.metadata["process_users_ms"] != nil })
            #expect(lines.contains { $0.message == "portfolio cache warmed" && $0.metadata["cache_warm_ms"] != nil })
            let ids = fixture.users.map { $0.uuidString.lowercased() }
            let leaks = lines.filter { line in
                ids.contains { id in line.message.contains(id) || line.metadata.values.contains { $0.contains(id) } }
            }
            #expect(leaks.isEmpty, "user ids unmasked in \(leaks.map(\.message))")

            // CALC_COMPLETED: the correlation id, the user's own duration and asset count.
            let completed = try await pack.database.query("""
                select e.payload::text, (select count(*)::int from portfolio.asset_scores s where s.user_id = e.user_id)
                from portfolio.calculation_events e
                where e.correlation_id = \(jobRun.correlationID) and e.event_type = 'CALC_COMPLETED'
                """).map { (try JSONValue(json: try $0.decode(String.self, at: 0)), try $0.decode(Int.self, at: 1)) }
            #expect(completed.count == 3)
            for (payload, assets) in completed {
                #expect(payload["correlationId"] == .string(correlation))
                #expect(payload["assetCount"] == .number(Decimal(assets)))
                #expect(payload["duration"] != nil && payload["duration"] == payload["durationMs"] && payload["batchDurationMs"] != nil)
            }
        }
    }

    @Test("ready before each market opens: the scheduler sends each due market's run, which scores that market's users alone")
    func marketRuns() async throws {
        try await PortfolioFixture.with(users: 6) { fixture in
            let pack = fixture.pack
            // TSE opens in 2 h 1 min, every day: its run (open - 2 h) was due a minute ago. The other
            // markets open 12 hours from now: nothing of theirs is due.
            try await pack.database.execute("""
                update portfolio.markets set trading_days = '{1,2,3,4,5,6,7}', local_open_time = case code
                    when 'TSE' then ((now() at time zone time_zone) + interval '2 hours' - interval '1 minute')::time
                    else ((now() at time zone time_zone) + interval '12 hours')::time end
                """)
            // Two TSE users: one with TSE alone, one with TSE and NYSE (scored by the first of them, TSE's).
            try await pack.database.execute("delete from portfolio.user_markets where user_id in (\(fixture.users[0]), \(fixture.users[1]))")
            try await pack.database.execute("""
                insert into portfolio.user_markets (user_id, market_code)
                values (\(fixture.users[0]), 'TSE'), (\(fixture.users[1]), 'TSE'), (\(fixture.users[1]), 'NYSE')
                """)
            let expected = try await pack.database.query("""
                select u from portfolio.market_runs(now() - interval '5 minutes', now()) r, portfolio.market_users(r.market_code, r.run_at) u
                where r.market_code = 'TSE' order by 1
                """).map { try $0.decode(UUID.self, at: 0) }
            #expect(expected.contains(fixture.users[0]) && expected.contains(fixture.users[1]))
            #expect(expected.count < fixture.users.count, "the other markets' users are not TSE's")

            try await pack.withWorker(fixture.registry) {
                let scheduler = try await pack.trigger("portfolio/market-scheduler")
                let run = try await pack.wait(for: scheduler, status: "completed", timeout: .seconds(30))
                #expect(run.output?["dispatched"]?.array?.count == 1, "\(String(describing: run.output))")
                let deadline = ContinuousClock.now + .seconds(60)
                while ContinuousClock.now < deadline, try await pack.count("""
                    select count(*) from nightshift.runs where function_id = 'portfolio/overnight-scoring' and status = 'completed'
                    """) == 0 {
                    try await Task.sleep(for: .milliseconds(100))
                }
                try await fixture.waitForWarmer()
            }
            let payloads = try await pack.database.query("""
                select payload ->> 'market' from nightshift.runs where function_id = 'portfolio/overnight-scoring'
                """).map { try $0.decode(String?.self, at: 0) }
            #expect(payloads == ["TSE"], "one run, TSE's")
            let jobRun = try await fixture.lastJobRun()
            #expect(jobRun.status == "completed" && jobRun.processed == expected.count)
            let scored = try await pack.database.query("""
                select distinct user_id from portfolio.calculation_events
                where correlation_id = \(jobRun.correlationID) and event_type = 'CALC_COMPLETED' order by 1
                """).map { try $0.decode(UUID.self, at: 0) }
            #expect(scored == expected, "TSE's users, and only they")
            #expect(fixture.stub.controls.requests(.rates) == 1, "rates fetched once for the run")
            // The next run of every market is there for the console and the demo.
            #expect(try await pack.count("select count(*) from portfolio.next_market_runs()") == 6)
        }
    }

    @Test("OVERNIGHT_JOB_CRON is one global run: the per-market scheduler stands down; without it the markets schedule the runs")
    func globalCronOverride() async throws {
        let http = HTTPClient()
        defer { Task { await http.shutdown() } }
        let path = TestDatabase.projectRoot.appendingPathComponent("supabase-like-config/config.toml").path
        let sections = PackHarness.packs.flatMap(\.configSections)
        let shipped = try NightshiftConfig.load(path: path, environment: [:], sections: sections)
        var perMarket = try FunctionRegistry(try PortfolioPack().functions(PackContext(config: shipped, http: http, logger: PackHarness.logger)))
        perMarket.apply(shipped)
        #expect(perMarket.functions["portfolio/market-scheduler"]?.enabled == true)
        #expect(perMarket.functions["portfolio/market-scheduler"]?.schedule?.cron == "*/5 * * * *")
        #expect(perMarket.functions["portfolio/overnight-scoring"]?.schedule == nil, "no global cron in the shipped config")

        let overridden = try NightshiftConfig.load(path: path, environment: ["OVERNIGHT_JOB_CRON": "0 4 * * *"], sections: sections)
        var global = try FunctionRegistry(try PortfolioPack().functions(PackContext(config: overridden, http: http, logger: PackHarness.logger)))
        global.apply(overridden)
        #expect(global.functions["portfolio/market-scheduler"]?.enabled == false)
        #expect(global.functions["portfolio/overnight-scoring"]?.schedule?.cron == "0 4 * * *")
    }
}
