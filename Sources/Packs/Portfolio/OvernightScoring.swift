import Engine
import Foundation
import Logging
import Postgres
import Tracing

/// `portfolio/overnight-scoring`: at 04:00 UTC (`OVERNIGHT_JOB_CRON`), scores every active user's
/// assets with their latest criteria, writes recommendations and the calculation audit, then
/// sends `portfolio/scoring.completed` for the cache warmer. Each step is checkpointed: the
/// exchange rates are fetched once per run (a retry or a resume reuses the stored snapshot), and
/// each batch of users commits its scores together with its checkpoint, so no user is scored
/// twice by one run. Payload `{"userIds": [...]}` scores only those users.
enum OvernightScoring {
    static let id = "portfolio/overnight-scoring"
    static let completedEvent = "portfolio/scoring.completed"

    struct Payload: Codable, Sendable {
        var userIds: [UUID]?
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
    }

    struct Summary: Codable, Sendable {
        var jobRunId: UUID
        var correlationId: UUID
        var status: String
        var usersTotal: Int
        var usersSuccess: Int
        var usersFailed: Int
        var assetsScored: Int
        var ratesStale: Bool
    }

    /// What `portfolio/scoring.completed` carries to the cache warmer.
    struct Completed: Codable, Sendable {
        var jobRunId: UUID
        var correlationId: UUID
        var status: String
        var usersSuccess: Int
    }

    static func function(providers: MarketData, settings: ScoringSettings) -> NightshiftFunction {
        NightshiftFunction(
            id: id, triggers: [.cron("0 4 * * *")], retries: 3, concurrency: .singleton,
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
        var tagged = run.logger
        tagged[metadataKey: "correlation_id"] = "\(setup.correlationID.uuidString.lowercased())"
        tagged[metadataKey: "job_run_id"] = "\(jobRunID.uuidString.lowercased())"
        let logger = tagged

        let rates: RatesOutcome = try await run.step.run("fetch-rates") {
            try await fetchRates(jobRunID: jobRunID, providers: providers, base: settings.ratesBase, database: database, logger: logger)
        }
        let users: [UUID] = try await run.step.run("list-users") {
            if let chosen = payload.userIds { return chosen }
            return try await database.query("select portfolio.active_users()").map { try $0.decode(UUID.self, at: 0) }
        }
        let prices: PricesOutcome = try await run.step.run("fetch-prices") {
            try await fetchPrices(jobRunID: jobRunID, providers: providers, database: database)
        }
        logger.info("overnight scoring inputs ready", metadata: [
            "users": "\(users.count)", "assets_priced": "\(prices.priced)/\(prices.assets)", "rates_stale": "\(rates.stale)",
        ])

        var succeeded = 0
        var assetsScored = 0
        var failures: [FailedUser] = []
        for (index, start) in stride(from: 0, to: users.count, by: settings.usersPerBatch).enumerated() {
            let batch = Array(users[start..<min(start + settings.usersPerBatch, users.count)])
            // The batch's scores, events and recommendations commit with its checkpoint.
            let outcome: BatchOutcome = try await run.step.transaction("score-batch-\(index)") { connection in
                try await scoreBatch(batch, jobRunID: jobRunID, on: connection)
            }
            succeeded += outcome.succeeded
            assetsScored += outcome.assetsScored
            for failure in outcome.failed {
                logger.error("user not scored", metadata: [
                    "user_id": "\(failure.userId)", "sqlstate": "\(failure.sqlstate ?? "")",
                    "error": "\(failure.message)", "batch": "\(index)",
                ])
            }
            failures += outcome.failed
        }

        // Retention of the audit log (2 years): whole monthly partitions go, once they are due.
        let partitionsDropped: Int = try await run.step.run("prune-audit-log") {
            try await database.query("select portfolio.prune_calculation_events()")[0].decode(Int.self, at: 0)
        }

        let finishedAt = Date()
        let figures = Figures(
            fetchRatesMilliseconds: rates.fetchMilliseconds, usersTotal: users.count, usersSuccess: succeeded,
            usersFailed: failures.count, totalDurationMilliseconds: Int(finishedAt.timeIntervalSince(setup.startedAt) * 1000),
            assetsScored: assetsScored, ratesStale: rates.stale, ratesProblem: rates.problem,
            pricesFetchMilliseconds: prices.fetchMilliseconds, priceRequests: prices.requests,
            auditPartitionsDropped: partitionsDropped)
        figures.describe(span)
        let metrics = try figures.json()
        let errorDetails = String(decoding: try JSONEncoder().encode(failures), as: UTF8.self)
        // users_processed counts every user attempted, the failed ones included.
        let (processed, failedCount) = (succeeded + failures.count, failures.count)
        let status: String = try await run.step.run("finalize") {
            try await database.query("""
                select portfolio.finalize_overnight_run(\(jobRunID), \(processed)::int, \(failedCount)::int,
                    \(errorDetails)::jsonb, \(metrics)::jsonb)
                """)[0].decode(String.self, at: 0)
        }
        if succeeded > 0 {
            try await run.step.sendEvent(
                completedEvent,
                Completed(jobRunId: jobRunID, correlationId: setup.correlationID, status: status, usersSuccess: succeeded))
        }
        logger.info("overnight scoring finished", metadata: [
            "status": "\(status)", "users_success": "\(succeeded)", "users_failed": "\(failures.count)", "assets_scored": "\(assetsScored)",
        ])
        return Summary(
            jobRunId: jobRunID, correlationId: setup.correlationID, status: status, usersTotal: users.count,
            usersSuccess: succeeded, usersFailed: failures.count, assetsScored: assetsScored, ratesStale: rates.stale)
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

    /// Prices every asset the run needs once, in batched requests, into the run's snapshot.
    static func fetchPrices(jobRunID: UUID, providers: MarketData, database: PostgresPool) async throws -> PricesOutcome {
        let clock = ContinuousClock()
        let started = clock.now
        let symbols = try await database.query("select market_code, symbol from portfolio.assets_to_price(\(jobRunID))").map {
            "\(try $0.decode(String.self, at: 0)):\(try $0.decode(String.self, at: 1))"
        }
        let bodies = try await providers.prices(for: symbols)
        var priced = 0
        for body in bodies {
            priced += try await database.query("""
                select portfolio.store_prices(\(jobRunID), \(body)::jsonb, \(providers.pricesSource))
                """)[0].decode(Int.self, at: 0)
        }
        return PricesOutcome(assets: symbols.count, priced: priced, requests: bodies.count, fetchMilliseconds: (clock.now - started).wholeMilliseconds)
    }

    /// One set-based call for the batch; the function isolates a failing user itself.
    static func scoreBatch(_ users: [UUID], jobRunID: UUID, on connection: isolated PostgresConnection) async throws -> BatchOutcome {
        let rows = try connection.query("""
            select user_id, assets_scored, failed, sqlstate, message from portfolio.score_users(\(jobRunID), \(users)::uuid[])
            """)
        var outcome = BatchOutcome(succeeded: 0, assetsScored: 0, failed: [])
        for row in rows {
            if try row.decode(Bool.self, at: 2) {
                outcome.failed.append(FailedUser(
                    userId: try row.decode(UUID.self, at: 0).uuidString.lowercased(), sqlstate: try row.decode(String?.self, at: 3),
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
