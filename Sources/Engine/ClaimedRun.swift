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

    init(row: PostgresRow) throws {
        id = try row.decode(UUID.self, column: "id")
        functionID = try row.decode(String.self, column: "function_id")
        payload = Data(try row.decode(String.self, column: "payload").utf8)
        attempt = try row.decode(Int.self, column: "attempt")
        maxAttempts = try row.decode(Int.self, column: "max_attempts")
        quarantined = try row.decode(Bool.self, column: "quarantined")
        leaseToken = quarantined ? 0 : try row.decode(Int64.self, column: "lease_token")
        error = try row.decode(String?.self, column: "error")
        correlationID = try row.decode(UUID.self, column: "correlation_id")
        runAt = try row.decode(Date.self, column: "run_at")
        switch try row.decode(String.self, column: "trigger_kind") {
        case "cron": trigger = .cron(slot: try row.decode(Date.self, column: "trigger_slot"))
        case "event": trigger = .event(id: try row.decode(UUID.self, column: "trigger_event_id"))
        case "rerun": trigger = .rerun
        default: trigger = .manual
        }
        let stepsJSON = try row.decode(String.self, column: "steps")
        if stepsJSON == "{}" {
            steps = [:]
        } else {
            // Each stored output is re-encoded on its own so `Step` can decode it as its type.
            let object = try JSONSerialization.jsonObject(with: Data(stepsJSON.utf8), options: [.fragmentsAllowed]) as? [String: Any] ?? [:]
            steps = try object.mapValues { try JSONSerialization.data(withJSONObject: $0, options: [.fragmentsAllowed]) }
        }
    }
}
