import Foundation
import Postgres

/// One row of `nightshift.claim_runs`: a run this worker now owns until its lease expires.
struct ClaimedRun: Sendable {
    let id: UUID
    let functionID: String
    let payload: Data
    let attempt: Int
    let maxAttempts: Int
    /// The claim's fencing token; 0 for a quarantined run, which is not leased.
    let leaseToken: Int64
    let correlationID: UUID
    let trigger: RunTrigger
    /// Outputs of the steps an earlier attempt finished, by step name.
    let steps: [String: Data]
    /// When it became due (its pickup latency runs from here).
    let runAt: Date
    /// The run was quarantined by this claim (it lost its worker `crash_limit` times in a row
    /// without progress): it is already failed, and only its `onFailure` is left to call.
    let quarantined: Bool
    /// The error it was quarantined with.
    let error: String?

    /// The runs of a claim's result (`claim_runs` or `claim_unlimited_runs`), its columns found
    /// by name once rather than on every row (a hash per column and row, at 500 rows a claim).
    static func decode(_ rows: PostgresRows) throws -> [ClaimedRun] {
        guard !rows.isEmpty else { return [] }
        let columns = try Columns(rows)
        return try rows.map { try ClaimedRun(row: $0, columns) }
    }

    /// The positions of the columns a claim returns.
    struct Columns {
        let id, functionID, payload, attempt, maxAttempts, quarantined, leaseToken, error, correlationID,
            runAt, triggerKind, triggerSlot, triggerEventID, steps: Int

        init(_ rows: PostgresRows) throws {
            id = try rows.index(ofColumn: "id")
            functionID = try rows.index(ofColumn: "function_id")
            payload = try rows.index(ofColumn: "payload")
            attempt = try rows.index(ofColumn: "attempt")
            maxAttempts = try rows.index(ofColumn: "max_attempts")
            quarantined = try rows.index(ofColumn: "quarantined")
            leaseToken = try rows.index(ofColumn: "lease_token")
            error = try rows.index(ofColumn: "error")
            correlationID = try rows.index(ofColumn: "correlation_id")
            runAt = try rows.index(ofColumn: "run_at")
            triggerKind = try rows.index(ofColumn: "trigger_kind")
            triggerSlot = try rows.index(ofColumn: "trigger_slot")
            triggerEventID = try rows.index(ofColumn: "trigger_event_id")
            steps = try rows.index(ofColumn: "steps")
        }
    }

    private init(row: PostgresRow, _ columns: Columns) throws {
        id = try row.decode(UUID.self, at: columns.id)
        functionID = try row.decode(String.self, at: columns.functionID)
        payload = Data(try row.decode(String.self, at: columns.payload).utf8)
        attempt = try row.decode(Int.self, at: columns.attempt)
        maxAttempts = try row.decode(Int.self, at: columns.maxAttempts)
        quarantined = try row.decode(Bool.self, at: columns.quarantined)
        leaseToken = quarantined ? 0 : try row.decode(Int64.self, at: columns.leaseToken)
        error = try row.decode(String?.self, at: columns.error)
        correlationID = try row.decode(UUID.self, at: columns.correlationID)
        runAt = try row.decode(Date.self, at: columns.runAt)
        switch try row.decode(String.self, at: columns.triggerKind) {
        case "cron": trigger = .cron(slot: try row.decode(Date.self, at: columns.triggerSlot))
        case "event": trigger = .event(id: try row.decode(UUID.self, at: columns.triggerEventID))
        case "rerun": trigger = .rerun
        default: trigger = .manual
        }
        let stepsJSON = try row.decode(String.self, at: columns.steps)
        if stepsJSON == "{}" {
            steps = [:]
        } else {
            // Each stored output is re-encoded on its own so `Step` can decode it as its type.
            let object = try JSONSerialization.jsonObject(with: Data(stepsJSON.utf8), options: [.fragmentsAllowed]) as? [String: Any] ?? [:]
            steps = try object.mapValues { try JSONSerialization.data(withJSONObject: $0, options: [.fragmentsAllowed]) }
        }
    }
}
