import Config
import Foundation
import Postgres

/// The notification functions of schema `notify` for Swift callers (jobs, the HTTP API, the
/// CLI). Each method is one SQL call: the cap, deduplication and the outbox live in SQL.
public struct Notifier: Sendable {
    let database: PostgresPool
    let metrics = NotificationMetrics()

    /// A notifier over `database`.
    public init(database: PostgresPool) {
        self.database = database
    }

    /// Writes `[notifications]` into the database: the daily cap, the time zone of its day, and
    /// the channels config lists as the enabled ones (every other channel is disabled). Called
    /// at start-up.
    public func configure(from settings: NotificationSettings) async throws {
        try await database.query("""
            select notify.configure(\(settings.dailyCapPerUser)::integer, \(settings.channels.keys.sorted()),
                                    \(settings.capTimeZone))
            """)
    }

    /// Sends a notification; `metadataJSON` must be a JSON object. The cap counts the user's day
    /// in `timeZone` (an IANA name), or in `[notifications] cap_timezone` when nil.
    public func send(
        to userID: UUID, title: String, message: String, metadataJSON: String = "{}", dedupeKey: String? = nil,
        timeZone: String? = nil
    ) async throws -> SendOutcome {
        try outcome(of: await database.query("""
            select notification_id, outcome
            from notify.send(\(userID), \(title), \(message), \(metadataJSON)::jsonb, \(dedupeKey), \(timeZone))
            """))
    }

    /// Sends a notification whose metadata is `metadata` encoded as a JSON object (the cap's day
    /// in `timeZone`, as for the other `send`).
    public func send<Metadata: Encodable & Sendable>(
        to userID: UUID, title: String, message: String, metadata: Metadata, dedupeKey: String? = nil,
        timeZone: String? = nil
    ) async throws -> SendOutcome {
        try outcome(of: await database.query("""
            select notification_id, outcome
            from notify.send(\(userID), \(title), \(message), \(PostgresJSON(metadata)), \(dedupeKey), \(timeZone))
            """))
    }

    private func outcome(of rows: PostgresRows) throws -> SendOutcome {
        let (id, outcome) = try rows[0].decode(UUID?.self, String.self)
        let result: SendOutcome
        switch (outcome, id) {
        case ("sent", let id?): result = .sent(id)
        case ("duplicate", let id?): result = .duplicate(id)
        case ("suppressed", nil): result = .suppressed
        default: throw NotifyContractError(function: "notify.send", problem: "returned outcome \(outcome) with id \(id.map(\.uuidString) ?? "null")")
        }
        metrics.sent(outcome: result.name)
        return result
    }

    /// How many of the user's notifications the cap held back today (each counted on its own
    /// zone's day); a digest brings them on the next day.
    public func heldBackToday(userID: UUID) async throws -> Int {
        try await database.query("select notify.held_back_today(\(userID))")[0].decode(Int.self, at: 0)
    }

    /// A user's notifications, newest first; at most `limit` (1...1000).
    public func list(userID: UUID, unreadOnly: Bool = false, limit: Int = 50) async throws -> [Notification] {
        try await database.query("""
            select id, user_id, title, message, metadata::text, read, read_at, dedupe_key, created_at
            from notify.list_notifications(\(userID), \(unreadOnly), \(limit)::integer)
            """).map(Notification.init(row:))
    }

    /// Marks one of the user's notifications read; false when the id is not that user's (a 404).
    public func markRead(userID: UUID, notificationID: UUID) async throws -> Bool {
        try await database.query("select notify.mark_read(\(userID), \(notificationID))")[0].decode(Bool.self, at: 0)
    }
}

/// The database answered outside the SQL contract (a migration and the binary disagree).
public struct NotifyContractError: Error, CustomStringConvertible {
    /// The SQL function called.
    public let function: String
    /// What was unexpected.
    public let problem: String

    public var description: String { "\(function) \(problem), outside its contract: are the migrations up to date?" }
}
