import Foundation
import Logging
import Postgres
import Tracing

extension Worker {
    /// Runs one claimed run to an outcome the database records; true when it simply completed
    /// (no retry, sleep or hand-back left behind for the claim loop to time).
    func execute(_ run: ClaimedRun, function: NightshiftFunction?) async -> Bool {
        let logger = run.logger(from: logger)
        guard let function else {
            // claim_runs only hands out declared functions; this is a guard, not a path.
            logger.error("claimed a run of a function this worker does not declare")
            return false
        }
        let clock = ContinuousClock()
        let started = clock.now
        let step = Step(
            runID: run.id, functionID: run.functionID, leaseToken: run.leaseToken, memo: run.steps,
            checkpointCommits: options.bookkeepingCommits,
            database: database, logger: logger, metrics: metrics, isLost: { [inFlight = inFlightRuns] in inFlight.isLost(run.id) })
        let context = RunContext(
            runID: run.id, functionID: run.functionID, attempt: run.attempt, maxAttempts: run.maxAttempts,
            correlationID: run.correlationID, trigger: run.trigger, database: database, logger: logger, step: step,
            payloadJSON: run.payload)
        metrics.pickedUp(functionID: run.functionID, latency: Date().timeIntervalSince(run.runAt))
        logger.debug("run started", metadata: ["attempt": "\(run.attempt)"])

        do {
            // withSpan records any error it sees and sets the span's status to error; a durable
            // sleep unwinds the handler on purpose, so it leaves the span as a value instead.
            let output = try await withSpan("run \(run.functionID)") { span -> Result<Data, RunSuspended> in
                run.describe(span)
                do {
                    return .success(try await Self.body(of: function, context: context))
                } catch let suspended as RunSuspended {
                    span.attributes["nightshift.suspended"] = true
                    return .failure(suspended)
                }
            }.get()
            try await completions.complete(id: run.id, token: run.leaseToken, output: String(decoding: output, as: UTF8.self))
            metrics.runFinished(functionID: run.functionID, outcome: "completed", duration: clock.now - started)
            logger.info("run completed", metadata: ["attempt": "\(run.attempt)", "duration": "\(clock.now - started)"])
            return true
        } catch is RunSuspended {
            metrics.runFinished(functionID: run.functionID, outcome: "sleeping", duration: clock.now - started)
            logger.info("run sleeping")
        } catch where handingBack.isSet {
            // Shutting down past the drain timeout: cancelled on purpose, and handed back to the
            // queue by the drain, not failed (no attempt is used up).
            metrics.runFinished(functionID: run.functionID, outcome: "handed_back", duration: clock.now - started)
            logger.info("run cancelled at shutdown; it is handed back to the queue", metadata: ["error": "\(error)"])
        } catch let error as LeaseLostError {
            metrics.runFinished(functionID: run.functionID, outcome: "lease_lost", duration: clock.now - started)
            logger.warning("run abandoned: \(error)")
        } catch {
            await fail(run, function: function, error: error, logger: logger)
            metrics.runFinished(functionID: run.functionID, outcome: "failed_attempt", duration: clock.now - started)
        }
        return false
    }

    /// The handler's output, within the function's timeout if it has one.
    private static func body(of function: NightshiftFunction, context: RunContext) async throws -> Data {
        guard let timeout = function.timeout else { return try await function.body(context) }
        do {
            return try await withDeadline(timeout) { try await function.body(context) }
        } catch is DeadlineExceeded {
            throw RunTimedOut(limit: timeout)
        }
    }

    /// Records a failed attempt: retried after the backoff (set in SQL by moving `run_at`),
    /// or failed for good, which calls the function's `onFailure`.
    private func fail(_ run: ClaimedRun, function: NightshiftFunction, error: any Error, logger: Logger) async {
        let retriable = Self.isRetriable(error)
        let errorJSON = Self.describe(error, retriable: retriable)
        do {
            let status = try await database.query("""
                select nightshift.fail_run(\(run.id), \(run.leaseToken), \(errorJSON)::jsonb, \(retriable))
                """)[0].decode(String.self, at: 0)
            if status == "failed" {
                logger.error("run failed", metadata: ["attempt": "\(run.attempt)", "error": "\(error)"])
                await function.onFailure?(FailedRun(
                    runID: run.id, functionID: run.functionID, correlationID: run.correlationID,
                    attempt: run.attempt, error: "\(error)"))
            } else {
                logger.warning("attempt failed, will retry", metadata: ["attempt": "\(run.attempt)", "error": "\(error)"])
            }
        } catch let failure as PostgresError where failure.sqlState == "NSL01" {
            logger.warning("run abandoned: lease lost before its failure was recorded", metadata: ["error": "\(error)"])
        } catch let failure {
            // The lease expires and another worker retries the run: nothing is lost.
            logger.error("could not record a failed attempt", metadata: ["error": "\(error)", "cause": "\(failure)"])
        }
    }

    /// A run this worker's claim quarantined: failed already in the database, it gets its
    /// `onFailure` here, once, like a run whose last attempt failed.
    func quarantined(_ run: ClaimedRun) async {
        let logger = run.logger(from: logger)
        let message = Self.message(ofErrorJSON: run.error) ?? "quarantined"
        metrics.runFinished(functionID: run.functionID, outcome: "quarantined", duration: .zero)
        logger.error("run quarantined: it lost its worker too often without making progress", metadata: ["error": "\(message)"])
        await self.function(run.functionID)?.onFailure?(FailedRun(
            runID: run.id, functionID: run.functionID, correlationID: run.correlationID, attempt: run.attempt, error: message))
    }

    /// The `message` of an error object as the engine stores it.
    static func message(ofErrorJSON json: String?) -> String? {
        guard let data = json?.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object["message"] as? String
    }

    /// Marked non-retriable, or classified permanent by its client: fail at once.
    /// Anything else, transient or unknown, is retried.
    static func isRetriable(_ error: any Error) -> Bool {
        if error is NonRetriableError { return false }
        if let classified = error as? any TransienceClassified { return classified.isTransient }
        return true
    }

    static func describe(_ error: any Error, retriable: Bool) -> String {
        var object: [String: Any] = [
            "message": "\(error)",
            "type": "\(type(of: error))",
            "retriable": retriable,
        ]
        if let postgres = error as? PostgresError, let sqlState = postgres.sqlState { object["sqlstate"] = sqlState }
        if let fields = error as? any RunErrorFields { object.merge(fields.errorFields) { _, new in new } }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

extension PostgresError: TransienceClassified {}
