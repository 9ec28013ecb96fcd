import Foundation
import Postgres

/// One notification in a user's inbox, as `notify.list_notifications` returns it.
public struct Notification: Sendable, Hashable {
    /// The notification's id, which `markRead` takes.
    public let id: UUID
    /// The recipient's user id: the `sub` of their token.
    public let userID: UUID
    /// A short heading, as the sender wrote it.
    public let title: String
    /// The body text, as the sender wrote it.
    public let message: String
    /// The metadata object as JSON text (its shape belongs to whoever sent it).
    public let metadataJSON: String
    /// Whether the user has marked it read.
    public let read: Bool
    /// When it was marked read; nil while unread.
    public let readAt: Date?
    /// The sender's idempotency key, unique across all notifications: a second send with the
    /// same key returns this one instead of storing another. Nil when the sender gave none.
    public let dedupeKey: String?
    /// When it was sent (and counted against that UTC day's cap).
    public let createdAt: Date

    /// From a row of `id, user_id, title, message, metadata::text, read, read_at, dedupe_key, created_at`.
    init(row: PostgresRow) throws {
        id = try row.decode(UUID.self, at: 0)
        userID = try row.decode(UUID.self, at: 1)
        title = try row.decode(String.self, at: 2)
        message = try row.decode(String.self, at: 3)
        metadataJSON = try row.decode(String.self, at: 4)
        read = try row.decode(Bool.self, at: 5)
        readAt = try row.decode(Date?.self, at: 6)
        dedupeKey = try row.decode(String?.self, at: 7)
        createdAt = try row.decode(Date.self, at: 8)
    }

    /// Decodes the metadata as `type`.
    public func metadata<Value: Decodable>(as type: Value.Type = Value.self) throws -> Value {
        try JSONDecoder().decode(Value.self, from: Data(metadataJSON.utf8))
    }
}
