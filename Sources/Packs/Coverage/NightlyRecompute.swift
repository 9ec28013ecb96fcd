import Engine
import Foundation
import Logging
import Postgres

/// `coverage/nightly-recompute`: at 02:00 UTC (config and environment can move it), or for one
/// institution with `{"institution_id"}`. One step lists the institutions, then one step per
/// institution — a resumed run skips the ones already done — and a last step writes the
/// run's telemetry row, failures included.
enum NightlyRecompute {
    static let id = "coverage/nightly-recompute"

    /// The story's NightlyCoverageJobPayload, plus the one institution of a manual recompute.
    /// The database stamps `triggered_at` and `trigger_type` on every run (coverage 0056).
    struct Payload: Codable, Sendable {
        var institutionID: UUID?
        var triggeredAt: String?
        var triggerType: String?
        enum CodingKeys: String, CodingKey {
            case institutionID = "institution_id"
            case triggeredAt = "triggered_at"
            case triggerType = "trigger_type"
        }
    }

    /// What one institution's step stored: its result, or why it failed for good, and when
    /// each transient failure was retried.
    struct InstitutionOutcome: Codable, Sendable {
        var institutionID: UUID
        var result: JSONValue?
        /// "<sqlstate>: <message>" (as checkpoints before 0056 hold it too).
        var error: String?
        var retriedAt: [Date] = []
        // Apart, for coverage_job_runs.error_details; absent from older checkpoints.
        var sqlstate: String?
        var message: String?
    }

    /// One failed institution for coverage.record_job_run: the structured detail, from which the
    /// database writes the story's string (`errors`) and keeps the object (`error_details`).
    struct ErrorDetail: Codable, Sendable {
        var institutionID: UUID
        var sqlstate: String?
        var message: String
        var attempts: Int
        enum CodingKeys: String, CodingKey {
            case sqlstate, message, attempts
            case institutionID = "institution_id"
        }
    }

    struct Summary: Codable, Sendable {
        var institutionsProcessed: Int
        var institutionsFailed: Int
        var totalGapsDetected: Int
        var totalGapsResolved: Int
        var telemetryRowID: UUID
        var triggeredAt: String?
        var triggerType: String?
    }

    /// A transient failure of one institution is retried after 1 s, 2 s and 4 s.
    static let retryDelays: [Duration] = [.seconds(1), .seconds(2), .seconds(4)]

    static let function = NightshiftFunction(
        id: id, triggers: [.cron("0 2 * * *")], retries: 3,
        // One full run at a time, and one run per institution (the payload's key).
        concurrency: .limit(1, key: "institution_id"), timeout: .seconds(6 * 3600), payload: Payload.self
    ) { payload, run in
        let database = run.database
        let startedAt: Date = try await run.step.run("start") { Date() }
        let institutions: [UUID] = try await run.step.run("list-institutions") {
            if let one = payload.institutionID { return [one] }
            return try await database.query("select id from coverage.active_institutions()").map { try $0.decode(UUID.self, at: 0) }
        }
        var outcomes: [InstitutionOutcome] = []
        for institution in institutions {
            // The snapshot, its comparison, its event and this step's checkpoint commit together:
            // a resumed run skips a finished institution and never stores its snapshot twice.
            let logger = run.logger
            outcomes.append(try await run.step.transaction("institution-\(institution.lowercasedString)") { connection in
                try await process(institution, on: connection, logger: logger)
            })
        }
        let failed = outcomes.filter { $0.error != nil }
        let detected = outcomes.reduce(0) { $0 + count($1.result, "gaps_detected") }
        let resolved = outcomes.reduce(0) { $0 + count($1.result, "gaps_resolved") }
        let errors = failed.map {
            ErrorDetail(institutionID: $0.institutionID, sqlstate: $0.sqlstate, message: $0.message ?? $0.error ?? "", attempts: $0.retriedAt.count + 1)
        }
        let errorsJSON = String(decoding: try LowercaseUUIDJSONEncoder().encode(errors), as: UTF8.self)
        let (runID, processed) = (run.runID, outcomes.count - failed.count)
        let rowID: UUID = try await run.step.run("record-telemetry") {
            try await database.query("""
                select coverage.record_job_run(\(startedAt), \(Date()), \(processed)::int, \(failed.count)::int,
                    \(detected)::int, \(resolved)::int, \(errorsJSON)::jsonb, \(runID))
                """)[0].decode(UUID.self, at: 0)
        }
        if !failed.isEmpty {
            run.logger.error("coverage recompute finished with failed institutions", metadata: ["failed": "\(failed.count)", "processed": "\(processed)"])
        }
        return Summary(
            institutionsProcessed: processed, institutionsFailed: failed.count,
            totalGapsDetected: detected, totalGapsResolved: resolved, telemetryRowID: rowID,
            triggeredAt: payload.triggeredAt, triggerType: payload.triggerType)
    }

    /// Processes one institution inside the step's transaction, under a savepoint: a transient
    /// failure (serialization failure, deadlock) rolls back to it and is retried after 1 s, 2 s
    /// and 4 s; a permanent one is rolled back and returned, not thrown, so the run goes on
    /// with the next institution. A lost connection ends the transaction: that one is thrown,
    /// and the engine retries the run from this institution.
    static func process(_ institution: UUID, on connection: isolated PostgresConnection, logger: Logger) async throws -> InstitutionOutcome {
        var outcome = InstitutionOutcome(institutionID: institution)
        while true {
            try connection.execute("savepoint institution")
            do {
                let text = try connection.query("select coverage.process_institution(\(institution))::text")[0].decode(String.self, at: 0)
                try connection.execute("release savepoint institution")
                outcome.result = try JSONValue(json: text)
                return outcome
            } catch let error as PostgresError where error.kind != .connection {
                try connection.execute("rollback to savepoint institution")
                if error.isTransient, outcome.retriedAt.count < retryDelays.count {
                    logger.warning("institution failed transiently, will retry", metadata: [
                        "institution_id": "\(institution.lowercasedString)", "attempt": "\(outcome.retriedAt.count + 1)", "error": "\(error.message)",
                    ])
                    try await Task.sleep(for: retryDelays[outcome.retriedAt.count])
                    outcome.retriedAt.append(Date())
                    continue
                }
                logger.error("institution failed", metadata: ["institution_id": "\(institution.lowercasedString)", "error": "\(error.message)"])
                outcome.error = "\(error.sqlState ?? "?"): \(error.message)"
                (outcome.sqlstate, outcome.message) = (error.sqlState, error.message)
                return outcome
            }
        }
    }

    private static func count(_ result: JSONValue?, _ key: String) -> Int {
        guard case .object(let object)? = result, case .number(let value)? = object[key] else { return 0 }
        return NSDecimalNumber(decimal: value).intValue
    }
}
