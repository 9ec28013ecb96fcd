import Engine
import Foundation
import Postgres

/// `coverage/gap-alerts`: on `coverage.gaps.detected`, one notification to each of the
/// institution's admins naming the cells that gained gaps. The dedupe key (event's snapshot and
/// admin) makes a retried run notify no one twice.
enum GapAlerts {
    static let id = "coverage/gap-alerts"

    struct Cell: Codable, Sendable {
        var system: String
        var discipline: String
        var previousGapCount: Int
        var newGapCount: Int
        var delta: Int
        enum CodingKeys: String, CodingKey {
            case system, discipline, delta
            case previousGapCount = "previous_gap_count"
            case newGapCount = "new_gap_count"
        }
    }

    struct Event: Codable, Sendable {
        var institutionID: UUID
        var snapshotID: UUID
        var newGaps: [Cell]
        enum CodingKeys: String, CodingKey {
            case institutionID = "institution_id"
            case snapshotID = "snapshot_id"
            case newGaps = "new_gaps"
        }
    }

    struct Sent: Codable, Sendable {
        var admins: Int
        var sent: Int
    }

    /// "Cardiovascular / Anatomy 2 → 4 (+2); Renal/Urinary / Pathology 0 → 1 (+1)".
    static func describe(_ cells: [Cell]) -> String {
        cells.map { "\($0.system) / \($0.discipline) \($0.previousGapCount) → \($0.newGapCount) (+\($0.delta))" }
            .joined(separator: "; ")
    }

    static let function = NightshiftFunction(
        id: id, triggers: [.event("coverage.gaps.detected")], retries: 3, payload: Event.self
    ) { event, run in
        let database = run.database
        let gaps = event.newGaps.reduce(0) { $0 + $1.delta }
        let message = "\(gaps) new coverage gap\(gaps == 1 ? "" : "s"): \(describe(event.newGaps))"
        let metadata = String(decoding: try JSONEncoder().encode(JSONValue.object([
            "institution_id": .string(event.institutionID.lowercasedString),
            "snapshot_id": .string(event.snapshotID.lowercasedString),
            "new_gaps": .number(Decimal(gaps)),
        ])), as: UTF8.self)
        let snapshot = event.snapshotID.lowercasedString
        return try await run.step.run("notify-admins") {
            let row = try await database.query("""
                select count(*)::int, count(*) filter (where s.outcome = 'sent')::int
                from coverage.list_admins(\(event.institutionID)) a
                cross join lateral notify.send(
                    a.user_id,
                    'Coverage gaps detected at ' || (select i.name from coverage.institutions i where i.id = \(event.institutionID)),
                    \(message), \(metadata)::jsonb, 'coverage.gaps.detected:' || \(snapshot) || ':' || a.user_id) s
                """)[0]
            let (admins, sent) = try row.decode(Int.self, Int.self)
            return Sent(admins: admins, sent: sent)
        }
    }
}
