import Engine
import Foundation
import Logging
import Postgres
import Tracing

/// `portfolio/overnight-scoring`: once per market, 2 hours before it opens (`MarketScheduler`
/// sends `portfolio/market.due`; the run scores that market's users), or on `OVERNIGHT_JOB_CRON`
/// every active user: scores the users' assets with their latest criteria, writes recommendations and the calculation audit, then
/// sends `portfolio/scoring.completed` for the cache warmer. Each step is checkpointed: the
/// exchange rates are fetched once per run (a retry or a resume reuses the stored snapshot), and
/// each batch of users commits its scores together with its checkpoint, so no user is scored
/// twice by one run. The run's users are a snapshot taken once (`portfolio.overnight_run_users`,
/// numbered into batches); the checkpoints hold counts and batch numbers, never the list of ids.
/// Payload `{"userIds": [...]}` scores only those users.
///
/// A price batch the provider does not answer fails the attempt while the run has attempts left
/// (the engine retries it with backoff, the checkpointed rates reused); on the last attempt its
/// assets are priced with their last stored price, marked stale, and the run ends `partial` with
/// the reason (the engine run completes; its output and the `overnight_job_runs` row say
/// partial). Signals: `portfolio/scoring.started` and `portfolio/scoring.completed` (with the
/// metrics), a log line per batch, user ids masked in every log line.
enum OvernightScoring {
    static let id = "portfolio/overnight-scoring"
    static let startedEvent = "portfolio/scoring.started"
    static let completedEvent = "portfolio/scoring.completed"

    struct Payload: Codable, Sendable {
        var userIds: [UUID]?
        /// A market's run (`portfolio/market.due`): its users (`portfolio.market_users`).
        var market: String?
        /// The market run's scheduled instant, ISO 8601.
        var runAt: String?
    }

    struct Setup: Codable, Sendable {
        var jobRunID: UUID
        var correlationID: UUID
        var startedAt: Date
    }

    struct RatesOutcome: Codable, Sendable {
        var asOf: Date
        var quotes: Int
        /// The provider was unavailable and the newest stored rates were used.
        var stale: Bool
        var fetchMilliseconds: Int
        var problem: String?
    }

    struct PricesOutcome: Codable, Sendable {
        var assets: Int
        var priced: Int
        var requests: Int
        var fetchMilliseconds: Int
        /// Assets priced with their last stored price: the provider never answered their batch.
        var stale: Int?
        /// Assets of unanswered batches without any stored price.
        var missing: Int?
        /// Why the provider's prices are missing (the first unanswered batch's error).
        var problem: String?
    }

    /// The list-users step's checkpoint: the run's users are in `portfolio.overnight_run_users`
    /// (`portfolio.snapshot_run_users`); the checkpoint holds how many, in how many batches.
    struct UserSnapshot: Codable, Sendable {
        var users: Int
        var batches: Int
        var markets: [String]
    }

    struct FailedUser: Codable, Sendable {
        /// Lower case, as PostgreSQL prints ids, so the row's error_details match the events.
        var userId: String
        var sqlstate: String?
        var message: String
    }

    struct BatchOutcome: Codable, Sendable {
        var succeeded: Int
        var assetsScored: Int
        var failed: [FailedUser]
        /// How long the batch's scoring took (optional: checkpoints written before it have none).
        var milliseconds: Int?
    }

    /// What `portfolio/scoring.started` carries (the spec's "Overnight job started" fields).
    struct Started: Codable, Sendable {
        var jobRunId: UUID
        var correlationId: UUID
        var jobType: String
        var targetMarkets: [String]
        var userCount: Int
    }

    /// The finalize step's answer: the run's status and, unless completed, why.
    struct Finalized: Codable, Sendable {
        var status: String
        var reason: String?
    }

    /// The run's output. The engine has no partial status: a partial run completes, and its
    /// output says `"outcome": "partial"` with the reason, as its `overnight_job_runs` row does.
    struct Summary: Codable, Sendable {
        var jobRunId: UUID
        var correlationId: UUID
        var status: String
        var outcome: String
        var reason: String?
        var usersTotal: Int
        var usersSuccess: Int
        var usersFailed: Int
        var assetsScored: Int
        var recommendationsGenerated: Int
        var ratesStale: Bool
        var pricesStale: Bool
    }

    /// What `portfolio/scoring.completed` carries to the cache warmer, with the run's reason and
    /// metrics (the spec's "JOB_COMPLETED event with metrics").
    struct Completed: Codable, Sendable {
        var jobRunId: UUID
        var correlationId: UUID
        var status: String
        var usersSuccess: Int
        var reason: String?
        var metrics: JSONValue?
    }

    static func function(providers: MarketData, settings: ScoringSettings) -> NightshiftFunction {
        NightshiftFunction(
            id: id, triggers: [.event(MarketScheduler.dueEvent)], retries: 3, concurrency: .singleton,
            timeout: .seconds(4 * 3600), payload: Payload.self
        ) { payload, run in
            try await withSpan("overnight-scoring-job") { span in
                do {
                    let summary = try await score(payload, run: run, providers: providers, settings: settings, span: span)
                    span.setStatus(SpanStatus(code: summary.status == "failed" ? .error : .ok))
                    if summary.status == "failed" {
                        throw NonRetriableError("overnight scoring failed for all \(summary.usersTotal) users (job run \(summary.jobRunId))")
                    }
                    return summary
                } catch {
                    span.setStatus(SpanStatus(code: .error, message: "\(error)"))
                    try? await recordFailure(error, run: run)
                    throw error
                }
            }
        }
    }

    private static func score(
        _ payload: Payload, run: RunContext, providers: MarketData, settings: ScoringSettings, span: any Span
    ) async throws -> Summary {
        let database = run.database
        let runID = run.runID
        let setup: Setup = try await run.step.run("setup") {
            let row = try await database.query("select job_run_id, correlation_id from portfolio.start_overnight_run(\(runID))")[0]
            return Setup(jobRunID: try row.decode(UUID.self, at: 0), correlationID: try row.decode(UUID.self, at: 1), startedAt: Date())
        }
        let jobRunID = setup.jobRunID
        span.attributes["correlation_id"] = setup.correlationID.lowercasedString
        var tagged = run.logger
        tagged[metadataKey: "correlation_id"] = "\(setup.correlationID.lowercasedString)"
        tagged[metadataKey: "job_run_id"] = "\(jobRunID.lowercasedString)"
        let logger = tagged

        let rates: RatesOutcome = try await run.step.run("fetch-rates") {
            try await fetchRates(jobRunID: jobRunID, providers: providers, base: settings.ratesBase, database: database, logger: logger)
        }
        // The run's users: a snapshot in portfolio.overnight_run_users, numbered into batches,
        // taken in one transaction with its checkpoint (counts only, not the ids), so a resumed
        // run scores exactly these users, batch by batch, whoever joined or left since. A run
        // started before that checkpointed the whole list under "list-users" and resumes with it.
        let legacyUsers: [UUID]? = try await run.step.run("list-users") { nil }
        let plan: UserSnapshot
        if let legacyUsers {
            let markets: [String] = try await run.step.run("target-markets") {
                if let market = payload.market { return [market] }
                return try await database.query("""
                    select distinct um.market_code from portfolio.user_markets um where um.user_id = any(\(legacyUsers)::uuid[]) order by 1
                    """).map { try $0.decode(String.self, at: 0) }
            }
            plan = UserSnapshot(
                users: legacyUsers.count, batches: (legacyUsers.count + settings.usersPerBatch - 1) / settings.usersPerBatch, markets: markets)
        } else {
            plan = try await run.step.transaction("snapshot-users") { connection in
                try snapshotUsers(payload, jobRunID: jobRunID, batchSize: settings.usersPerBatch, on: connection)
            }
        }
        let markets = plan.markets
        logger.info("overnight job started", metadata: [
            "job_type": "scoring", "target_markets": "\(markets.joined(separator: ","))", "user_count": "\(plan.users)",
        ])
        _ = try await run.step.sendEvent(startedEvent, Started(
            jobRunId: jobRunID, correlationId: setup.correlationID, jobType: "scoring", targetMarkets: markets, userCount: plan.users))
        // Until the last attempt, a batch the price provider never answers fails the attempt and
        // the engine retries the run with its backoff ("queue with backoff"); on the last one the
        // stored prices stand in for it ("partial results OK").
        let lastAttempt = run.attempt >= run.maxAttempts
        let prices: PricesOutcome = try await run.step.run("fetch-prices") {
            try await fetchPrices(jobRunID: jobRunID, providers: providers, database: database, fallBack: lastAttempt, logger: logger)
        }
        logger.info("overnight scoring inputs ready", metadata: [
            "users": "\(plan.users)", "assets_priced": "\(prices.priced)/\(prices.assets)", "rates_stale": "\(rates.stale)",
            "prices_stale": "\(prices.stale ?? 0)", "prices_missing": "\(prices.missing ?? 0)",
        ])

        var succeeded = 0
        var assetsScored = 0
        var processMilliseconds = 0
        var failures: [FailedUser] = []
        // Batch by batch: each one's scores, events and recommendations commit with its checkpoint.
        for index in 0..<plan.batches {
            let outcome: BatchOutcome = try await run.step.transaction("score-batch-\(index)") { connection in
                if let legacyUsers {
                    let start = index * settings.usersPerBatch
                    return try scoreBatch(
                        Array(legacyUsers[start..<min(start + settings.usersPerBatch, legacyUsers.count)]), jobRunID: jobRunID, on: connection)
                }
                return try scoreBatch(index, jobRunID: jobRunID, on: connection)
            }
            succeeded += outcome.succeeded
            assetsScored += outcome.assetsScored
            processMilliseconds += outcome.milliseconds ?? 0
            for failure in outcome.failed {
                logger.error("user processing failed", metadata: [
                    "user_id": "\(masked(failure.userId))", "sqlstate": "\(failure.sqlstate ?? "")",
                    "error": "\(masked(failure.userId, in: failure.message))", "stage": "score-calculation",
                    "batch_number": "\(index + 1)",
                ])
            }
            logger.info("user batch processed", metadata: [
                "batch_number": "\(index + 1)", "users_processed": "\(outcome.succeeded + outcome.failed.count)",
                "users_succeeded": "\(outcome.succeeded)", "users_failed": "\(outcome.failed.count)",
                "assets_scored": "\(outcome.assetsScored)", "duration": "\(outcome.milliseconds ?? 0)",
            ])
            failures += outcome.failed
        }

        // Retention of the audit log (2 years): whole monthly partitions go, once they are due.
        let partitionsDropped: Int = try await run.step.run("prune-audit-log") {
            try await database.query("select portfolio.prune_calculation_events()")[0].decode(Int.self, at: 0)
        }
        let recommendations: Int = try await run.step.run("count-recommendations") {
            try await database.query(
                "select count(*)::int from portfolio.recommendations r where r.job_run_id = \(jobRunID)")[0].decode(Int.self, at: 0)
        }

        let finishedAt = Date()
        var figures = Figures(
            fetchRatesMilliseconds: rates.fetchMilliseconds, usersTotal: plan.users, usersSuccess: succeeded,
            usersFailed: failures.count, totalDurationMilliseconds: Int(finishedAt.timeIntervalSince(setup.startedAt) * 1000),
            assetsScored: assetsScored, ratesStale: rates.stale, ratesProblem: rates.problem,
            pricesFetchMilliseconds: prices.fetchMilliseconds, priceRequests: prices.requests,
            auditPartitionsDropped: partitionsDropped)
        figures.processUsersMilliseconds = processMilliseconds
        figures.recommendationsGenerated = recommendations
        figures.pricesStale = (prices.stale ?? 0) > 0
        figures.pricesMissing = prices.missing ?? 0
        figures.describe(span)
        let metrics = try figures.json()
        let errorDetails = String(decoding: try JSONEncoder().encode(failures), as: UTF8.self)
        // users_processed counts every user attempted, the failed ones included.
        let (processed, failedCount) = (succeeded + failures.count, failures.count)
        let finalized: Finalized = try await run.step.run("finalize-run") {
            let status = try await database.query("""
                select portfolio.finalize_overnight_run(\(jobRunID), \(processed)::int, \(failedCount)::int,
                    \(errorDetails)::jsonb, \(metrics)::jsonb)
                """)[0].decode(String.self, at: 0)
            let reason = try await database.query(
                "select reason from portfolio.overnight_job_runs where id = \(jobRunID)")[0].decode(String?.self, at: 0)
            return Finalized(status: status, reason: reason)
        }
        let status = finalized.status
        span.attributes["outcome"] = status
        _ = try await run.step.sendEvent(
            completedEvent,
            Completed(
                jobRunId: jobRunID, correlationId: setup.correlationID, status: status, usersSuccess: succeeded,
                reason: finalized.reason, metrics: try? JSONValue(json: metrics)))
        var completedLine: Logger.Metadata = [
            "status": "\(status)", "users_total": "\(plan.users)", "users_success": "\(succeeded)",
            "users_failed": "\(failures.count)", "assets_scored": "\(assetsScored)",
            "recommendations_generated": "\(recommendations)", "fetch_rates_ms": "\(rates.fetchMilliseconds)",
            "process_users_ms": "\(processMilliseconds)", "total_duration_ms": "\(figures.totalDurationMilliseconds)",
        ]
        if let reason = finalized.reason { completedLine["reason"] = "\(reason)" }
        logger.info("overnight job completed", metadata: completedLine)
        return Summary(
            jobRunId: jobRunID, correlationId: setup.correlationID, status: status, outcome: status, reason: finalized.reason,
            usersTotal: plan.users, usersSuccess: succeeded, usersFailed: failures.count, assetsScored: assetsScored,
            recommendationsGenerated: recommendations, ratesStale: rates.stale, pricesStale: figures.pricesStale)
    }

    /// A user id as logs show it (the spec's logging strategy: "Masked for logs"): its first and
    /// last 4 characters. The full id stays in the database (error_details, the events).
    static func masked(_ userID: String) -> String {
        guard userID.count > 8 else { return "****" }
        return "\(userID.prefix(4))…\(userID.suffix(4))"
    }

    /// `text` with every occurrence of `userID` masked (SQL's messages name the user).
    static func masked(_ userID: String, in text: String) -> String {
        text.replacingOccurrences(of: userID, with: masked(userID))
    }

    /// Fetches the rates once and stores them as the run's snapshot. A provider that cannot be
    /// reached (after its retries) is not the end of the run: the newest stored rates become the
    /// snapshot and the run's data is marked stale. An answer that makes no sense is an error.
    static func fetchRates(
        jobRunID: UUID, providers: MarketData, base: String, database: PostgresPool, logger: Logger
    ) async throws -> RatesOutcome {
        let clock = ContinuousClock()
        let started = clock.now
        let elapsed = { (clock.now - started).wholeMilliseconds }
        do {
            let body = try await providers.latestRates(base: base)
            let row = try await database.query("""
                select as_of, quotes from portfolio.store_rates(\(jobRunID), \(body)::jsonb, \(providers.ratesSource))
                """)[0]
            return RatesOutcome(asOf: try row.decode(Date.self, at: 0), quotes: try row.decode(Int.self, at: 1), stale: false, fetchMilliseconds: elapsed())
        } catch let error as ProviderError where error.isUnavailable {
            logger.warning("rate provider unavailable: using the last stored rates", metadata: ["error": "\(error)"])
            let row = try await database.query("select as_of, quotes from portfolio.reuse_last_rates(\(jobRunID), \(base))")[0]
            return RatesOutcome(
                asOf: try row.decode(Date.self, at: 0), quotes: try row.decode(Int.self, at: 1), stale: true,
                fetchMilliseconds: elapsed(), problem: "\(error)")
        }
    }

    /// Prices every asset the run needs once, in batched requests, into the run's snapshot. With
    /// `fallBack` (the run's last attempt) a batch the provider never answered is priced from the
    /// store instead of failing the step (`portfolio.reuse_last_prices`: stale, with their age).
    static func fetchPrices(
        jobRunID: UUID, providers: MarketData, database: PostgresPool, fallBack: Bool, logger: Logger
    ) async throws -> PricesOutcome {
        let clock = ContinuousClock()
        let started = clock.now
        let symbols = try await database.query("select market_code, symbol from portfolio.assets_to_price(\(jobRunID))").map {
            "\(try $0.decode(String.self, at: 0)):\(try $0.decode(String.self, at: 1))"
        }
        let answers: [(symbols: [String], body: String?, problem: ProviderError?)]
        if fallBack {
            answers = try await providers.priceAnswers(for: symbols)
        } else {
            answers = try await providers.prices(for: symbols).map { (symbols: [], body: $0, problem: nil) }
        }
        var outcome = PricesOutcome(assets: symbols.count, priced: 0, requests: answers.count, fetchMilliseconds: 0)
        for answer in answers {
            if let body = answer.body {
                outcome.priced += try await database.query("""
                    select portfolio.store_prices(\(jobRunID), \(body)::jsonb, \(providers.pricesSource))
                    """)[0].decode(Int.self, at: 0)
            } else if let problem = answer.problem {
                let reason = "\(problem)"
                let row = try await database.query("""
                    select reused, missing from portfolio.reuse_last_prices(\(jobRunID), \(answer.symbols)::text[], \(reason))
                    """)[0]
                let (reused, missing) = (try row.decode(Int.self, at: 0), try row.decode(Int.self, at: 1))
                logger.warning("price provider unavailable: using the last stored prices", metadata: [
                    "error": "\(reason)", "symbols": "\(answer.symbols.count)", "stale": "\(reused)", "missing": "\(missing)",
                ])
                outcome.priced += reused
                outcome.stale = (outcome.stale ?? 0) + reused
                outcome.missing = (outcome.missing ?? 0) + missing
                outcome.problem = outcome.problem ?? reason
            }
        }
        outcome.fetchMilliseconds = (clock.now - started).wholeMilliseconds
        return outcome
    }

    /// Takes the run's snapshot of its users: the payload's, the market's or every active user.
    static func snapshotUsers(
        _ payload: Payload, jobRunID: UUID, batchSize: Int, on connection: isolated PostgresConnection
    ) throws -> UserSnapshot {
        let row = try connection.query("""
            select users, batches, markets from portfolio.snapshot_run_users(\(jobRunID), \(batchSize)::int,
                \(payload.userIds)::uuid[], \(payload.market)::text, (\(payload.runAt))::timestamptz)
            """)[0]
        return UserSnapshot(
            users: try row.decode(Int.self, at: 0), batches: try row.decode(Int.self, at: 1), markets: try row.decode([String].self, at: 2))
    }

    /// One set-based call for batch `index` of the run's snapshot; the function isolates a failing user itself.
    static func scoreBatch(_ index: Int, jobRunID: UUID, on connection: isolated PostgresConnection) throws -> BatchOutcome {
        try scoreRows("select user_id, assets_scored, failed, sqlstate, message from portfolio.score_run_batch(\(jobRunID), \(index)::int)", on: connection)
    }

    /// A batch of a run that checkpointed its whole user list (started before the snapshot).
    static func scoreBatch(_ users: [UUID], jobRunID: UUID, on connection: isolated PostgresConnection) throws -> BatchOutcome {
        try scoreRows("select user_id, assets_scored, failed, sqlstate, message from portfolio.score_users(\(jobRunID), \(users)::uuid[])", on: connection)
    }

    private static func scoreRows(_ sql: PostgresQuery, on connection: isolated PostgresConnection) throws -> BatchOutcome {
        let clock = ContinuousClock()
        let started = clock.now
        let rows = try connection.query(sql)
        var outcome = BatchOutcome(succeeded: 0, assetsScored: 0, failed: [], milliseconds: (clock.now - started).wholeMilliseconds)
        for row in rows {
            if try row.decode(Bool.self, at: 2) {
                outcome.failed.append(FailedUser(
                    userId: try row.decode(UUID.self, at: 0).lowercasedString, sqlstate: try row.decode(String?.self, at: 3),
                    message: try row.decode(String?.self, at: 4) ?? "unknown error"))
            } else {
                outcome.succeeded += 1
                outcome.assetsScored += try row.decode(Int.self, at: 1)
            }
        }
        return outcome
    }

    /// A run that ends in an error on its last attempt leaves its telemetry row `failed`, not `started`.
    private static func recordFailure(_ error: any Error, run: RunContext) async throws {
        guard run.attempt >= run.maxAttempts || error is NonRetriableError else { return }
        let detail = String(decoding: try JSONEncoder().encode(["error": "\(error)", "attempt": "\(run.attempt)"]), as: UTF8.self)
        try await run.database.execute("""
            select portfolio.fail_overnight_run(r.id, \(detail)::jsonb)
            from portfolio.overnight_job_runs r where r.run_id = \(run.runID) and r.status = 'started'
            """)
    }
}

extension Duration {
    /// Whole milliseconds, for the run's figures.
    var wholeMilliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
