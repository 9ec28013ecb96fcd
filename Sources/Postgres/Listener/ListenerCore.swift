import Synchronization

/// State shared between the listener's API and its thread.
final class ListenerCore: Sendable {
    struct State {
        var channels: [String]
        /// Bumped on every channel change, so the thread copies the list only when it changed.
        var version = 0
        var continuation: AsyncStream<PostgresListenerEvent>.Continuation?
        var stopped = false
    }

    let configuration: PostgresConfiguration
    let onConnectionError: (@Sendable (PostgresError) -> Void)?
    let onNotification: (@Sendable (PostgresNotification) -> Void)?
    let onNotifications: (@Sendable ([PostgresNotification], borrowing PostgresListenerSession) -> Void)?
    let onConnected: (@Sendable (borrowing PostgresListenerSession) -> Void)?
    let state: Mutex<State>

    init(
        configuration: PostgresConfiguration,
        channels: [String],
        onConnectionError: (@Sendable (PostgresError) -> Void)?,
        onNotification: (@Sendable (PostgresNotification) -> Void)?,
        onNotifications: (@Sendable ([PostgresNotification], borrowing PostgresListenerSession) -> Void)?,
        onConnected: (@Sendable (borrowing PostgresListenerSession) -> Void)?
    ) {
        self.configuration = configuration
        self.onConnectionError = onConnectionError
        self.onNotification = onNotification
        self.onNotifications = onNotifications
        self.onConnected = onConnected
        var unique: [String] = []
        for channel in channels where !unique.contains(channel) { unique.append(channel) }
        state = Mutex(State(channels: unique))
    }

    var isStopped: Bool { state.withLock { $0.stopped } }

    func update(_ change: (inout [String]) -> Void) {
        state.withLock { state in
            change(&state.channels)
            state.version += 1
        }
    }

    func start(_ continuation: AsyncStream<PostgresListenerEvent>.Continuation) {
        let stopped = state.withLock { state in
            precondition(state.continuation == nil, "a PostgresListener can be iterated only once")
            state.continuation = continuation
            return state.stopped
        }
        if stopped {
            continuation.finish()
        } else {
            ListenerLoop.start(core: self, continuation: continuation)
        }
    }

    func stop() {
        let continuation = state.withLock { state in
            defer { state.stopped = true }
            return state.stopped ? nil : state.continuation
        }
        continuation?.finish()
    }
}
