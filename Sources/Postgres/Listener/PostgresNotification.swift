/// One NOTIFY delivered to a listener.
public struct PostgresNotification: Sendable, Hashable {
    /// The channel it was sent on.
    public var channel: String
    /// The payload (empty when none was given).
    public var payload: String
    /// The process ID of the notifying backend.
    public var pid: Int

    /// Creates a notification value.
    public init(channel: String, payload: String, pid: Int) {
        self.channel = channel
        self.payload = payload
        self.pid = pid
    }
}
