/// What a `PostgresListener` yields.
public enum PostgresListenerEvent: Sendable, Hashable {
    /// LISTEN succeeded (at start, after adding channels, and after every reconnect). Notifications sent
    /// while the listener was disconnected are lost, so consumers should re-check state on this event.
    case listening
    /// A notification arrived.
    case notification(PostgresNotification)
}
