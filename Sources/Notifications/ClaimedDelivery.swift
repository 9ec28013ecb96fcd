import Crypto
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

    /// The Standard Webhooks `webhook-id`: `msg_` and 32 hex digits of the SHA-256 of the
    /// idempotency key. Stable across attempts and dispatchers like the key itself, but free of
    /// the `.` a channel name may hold (the signed fields are `.`-delimited) and of its length.
    var webhookID: String {
        let digest = SHA256.hash(data: Array(idempotencyKey.utf8))
        return "msg_" + digest.prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    init(row: PostgresRow) throws {
        id = try row.decode(Int64.self, column: "id")
        notificationID = try row.decode(UUID.self, column: "notification_id")
        channel = try row.decode(String.self, column: "channel")
        idempotencyKey = try row.decode(String.self, column: "idempotency_key")
        attempt = try row.decode(Int.self, column: "attempt")
        payload = Array(try row.decode(String.self, column: "payload").utf8)
    }
}
