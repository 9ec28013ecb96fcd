import Foundation

/// What `notify.send` did with a notification.
public enum SendOutcome: Sendable, Hashable {
    /// In the user's inbox, with one pending delivery per enabled channel.
    case sent(UUID)
    /// The dedupe key was sent before: the existing notification, not counted against the cap.
    case duplicate(UUID)
    /// The user's daily cap (UTC day) is used up: kept in `notify.suppressed`, not delivered.
    case suppressed

    /// The notification's id; nil when suppressed.
    public var notificationID: UUID? {
        switch self {
        case .sent(let id), .duplicate(let id): id
        case .suppressed: nil
        }
    }

    /// The SQL spelling: `sent`, `duplicate` or `suppressed`.
    public var name: String {
        switch self {
        case .sent: "sent"
        case .duplicate: "duplicate"
        case .suppressed: "suppressed"
        }
    }
}
