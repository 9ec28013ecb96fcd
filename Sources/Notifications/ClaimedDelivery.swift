import Foundation
import Postgres

/// One row of `notify.claim_deliveries`: a delivery this dispatcher holds until its lease expires.
struct ClaimedDelivery: Sendable {
    let id: Int64
    let notificationID: UUID
    let channel: String
    let idempotencyKey: String
    let attempt: Int
    /// The JSON body the webhook receives, as the database rendered it.
    let payload: [UInt8]

    init(row: PostgresRow) throws {
        id = try row.decode(Int64.self, column: "id")
        notificationID = try row.decode(UUID.self, column: "notification_id")
        channel = try row.decode(String.self, column: "channel")
        idempotencyKey = try row.decode(String.self, column: "idempotency_key")
        attempt = try row.decode(Int.self, column: "attempt")
        payload = Array(try row.decode(String.self, column: "payload").utf8)
    }
}
