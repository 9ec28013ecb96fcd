/// LISTEN/NOTIFY as an AsyncSequence, on its own connection and thread. It reconnects with backoff
/// (50 ms doubling to 5 s) and re-LISTENs every channel after a connection loss.
///
/// Iteration starts it; `stop()`, cancelling the iterating task, or leaving the loop shuts it down
/// and closes its connection. One consumer only (it is backed by an `AsyncStream`).
public final class PostgresListener: AsyncSequence, Sendable {
    /// The events.
    public typealias Element = PostgresListenerEvent
    /// The iterator over events.
    public typealias AsyncIterator = AsyncStream<PostgresListenerEvent>.Iterator

    private let core: ListenerCore

    /// Creates a listener for `channels`; `onConnectionError` sees every failed connect or lost connection
    /// (the module has no logger, so this is where callers log them). `onNotification`, when given,
    /// sees each notification first, on the listener's thread, before it is yielded: a latency-critical
    /// consumer reacts there without waiting for a task to be scheduled (it must not block).
    /// `onNotifications`, when given, then sees the notifications that arrived together, once per
    /// batch, with the listener's connection lent for statements that answer them
    /// (``PostgresListenerSession``); notifications its statements bring in make the next batch.
    /// `onConnected`, when given, runs on each new connection (the first and every reconnect) once
    /// its LISTENs ran, with that connection lent: to prepare or warm what `onNotifications` will
    /// run there. Nothing runs until iteration starts.
    public init(
        configuration: PostgresConfiguration,
        channels: [String],
        onConnectionError: (@Sendable (PostgresError) -> Void)? = nil,
        onNotification: (@Sendable (PostgresNotification) -> Void)? = nil,
        onNotifications: (@Sendable ([PostgresNotification], borrowing PostgresListenerSession) -> Void)? = nil,
        onConnected: (@Sendable (borrowing PostgresListenerSession) -> Void)? = nil
    ) {
        core = ListenerCore(
            configuration: configuration, channels: channels, onConnectionError: onConnectionError,
            onNotification: onNotification, onNotifications: onNotifications, onConnected: onConnected)
    }

    /// Starts the listener thread and returns the only iterator; a second call is a programming error.
    public func makeAsyncIterator() -> AsyncIterator {
        // Unbounded buffering: notifications are small, and dropping one would be silent data loss.
        let (stream, continuation) = AsyncStream<PostgresListenerEvent>.makeStream()
        // The stream is not stored: when the consumer drops the iterator (leaves its loop), the
        // stream terminates and the listener stops.
        continuation.onTermination = { [core] _ in core.stop() }
        core.start(continuation)
        return stream.makeAsyncIterator()
    }

    /// Adds a channel; a `.listening` event follows once the LISTEN ran.
    public func listen(_ channel: String) {
        core.update { channels in
            if !channels.contains(channel) { channels.append(channel) }
        }
    }

    /// Removes a channel.
    public func unlisten(_ channel: String) {
        core.update { channels in channels.removeAll { $0 == channel } }
    }

    /// Stops listening, ends the sequence and closes the connection (within one poll interval).
    public func stop() {
        core.stop()
    }
}
