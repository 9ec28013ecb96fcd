/// One NOTIFY delivered to a listener.
public struct PostgresNotification: Sendable, Hashable {
    /// The channel it was sent on.
    public var channel: String
    /// The payload (empty when none was given).
    public var payload: String
    /// The process ID of the notifying backend.
    public var pid: Int
    /// Whether the server pushed it while the listener's connection was idle, rather than with the
    /// answer to a statement the listener ran (`onConnected`, `onNotifications`). Only an idle
    /// delivery proves that this connection's own LISTEN reaches it: behind a transaction pooler
    /// the connection is tied to a server session only during a statement, and a notification
    /// arrives only when that session happens to be one that LISTENed earlier.
    public var arrivedWhileIdle: Bool

    /// Creates a notification value.
    public init(channel: String, payload: String, pid: Int, arrivedWhileIdle: Bool = true) {
        self.channel = channel
        self.payload = payload
        self.pid = pid
        self.arrivedWhileIdle = arrivedWhileIdle
    }
}
