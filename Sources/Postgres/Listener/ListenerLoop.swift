import CLibPQ
import Foundation

/// The listener's thread: owns the connection, polls its socket, yields notifications, reconnects.
/// Everything here runs on that one thread, so the non-Sendable connection never leaves it.
struct ListenerLoop {
    /// How long one poll(2) waits, bounding how late `stop()` and channel changes are noticed.
    static let pollMilliseconds: Int32 = 100
    static let initialBackoff: Duration = .milliseconds(50)
    static let maximumBackoff: Duration = .seconds(5)

    let core: ListenerCore
    let continuation: AsyncStream<PostgresListenerEvent>.Continuation
    private var connection: LibPQConnection?
    private var listened: [String] = []
    private var seenVersion = -1
    private var backoff = initialBackoff

    static func start(core: ListenerCore, continuation: AsyncStream<PostgresListenerEvent>.Continuation) {
        let thread = Thread {
            Thread.current.name = "pg-listener"
            var loop = ListenerLoop(core: core, continuation: continuation)
            loop.run()
        }
        thread.start()
    }

    private init(core: ListenerCore, continuation: AsyncStream<PostgresListenerEvent>.Continuation) {
        self.core = core
        self.continuation = continuation
    }

    private mutating func run() {
        while !core.isStopped {
            guard let handle = connection?.pointer else {
                connect()
                continue
            }
            do {
                try synchroniseChannels(handle)
                // What a LISTEN or `onConnected` brought in came with a statement's answer.
                try deliverQueued(handle, arrivedWhileIdle: false)
                try waitForNotifications(handle)
            } catch {
                connectionLost(error)
            }
        }
        // Closing here (PQfinish) ends the LISTEN session on the server.
        connection = nil
    }

    /// Connects and LISTENs to every channel; on failure sleeps the current backoff, then doubles it.
    private mutating func connect() {
        do {
            let opened = try ConnectionParameters.connect(core.configuration)
            connection = opened
            listened = []
            seenVersion = -1
            try synchroniseChannels(opened.pointer, alwaysAnnounce: true)
            core.onConnected?(PostgresListenerSession(connection: opened))
            backoff = Self.initialBackoff
        } catch {
            connectionLost(error)
        }
    }

    private mutating func connectionLost(_ error: any Error) {
        if let error = error as? PostgresError {
            core.onConnectionError?(connection?.explain(error) ?? error)
        }
        connection = nil
        sleep(backoff)
        backoff = min(backoff * 2, Self.maximumBackoff)
    }

    /// Sleeps in short slices so `stop()` is not delayed by a long backoff.
    private func sleep(_ duration: Duration) {
        let deadline = ContinuousClock.now + duration
        while !core.isStopped, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: min(0.05, (deadline - ContinuousClock.now).seconds))
        }
    }

    /// Brings the session's LISTENs in line with the wanted channels; yields `.listening` after new LISTENs.
    private mutating func synchroniseChannels(_ handle: OpaquePointer, alwaysAnnounce: Bool = false) throws {
        let wanted: [String]? = core.state.withLock { state in
            state.version == seenVersion ? nil : state.channels
        }
        var announce = alwaysAnnounce
        if let wanted {
            for channel in listened where !wanted.contains(channel) {
                try execute(handle, "UNLISTEN", channel)
            }
            for channel in wanted where !listened.contains(channel) {
                try execute(handle, "LISTEN", channel)
                announce = true
            }
            listened = wanted
            seenVersion = core.state.withLock { $0.channels == wanted ? $0.version : seenVersion }
        }
        if announce { continuation.yield(.listening) }
    }

    private func execute(_ handle: OpaquePointer, _ command: String, _ channel: String) throws {
        guard let quoted = PQescapeIdentifier(handle, channel, channel.utf8.count) else {
            throw PostgresError.connection(handle, prefix: "cannot quote channel name")
        }
        let sql = command + " " + String(cString: quoted)
        PQfreemem(quoted)
        guard let result = PQexec(handle, sql) else { throw PostgresError.connection(handle, query: sql) }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else {
            throw PostgresError(result: result, connectionBroken: PQstatus(handle) != CONNECTION_OK, query: sql)
        }
    }

    /// Waits up to one poll interval for input, then delivers what arrived: the server pushed it
    /// to the idle connection.
    private func waitForNotifications(_ handle: OpaquePointer) throws {
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Self.pollMilliseconds)
        if ready > 0, PQconsumeInput(handle) == 0 {
            throw PostgresError.connection(handle, prefix: "listener connection lost")
        }
        try deliverQueued(handle, arrivedWhileIdle: true)
    }

    /// Yields every notification libpq holds, in batches: what `onNotifications` runs on the
    /// connection may bring more, which came with its statements' answers.
    private func deliverQueued(_ handle: OpaquePointer, arrivedWhileIdle: Bool) throws {
        var idle = arrivedWhileIdle
        while true {
            var batch: [PostgresNotification] = []
            while let notification = PQnotifies(handle) {
                let event = PostgresNotification(
                    channel: String(cString: notification.pointee.relname),
                    payload: String(cString: notification.pointee.extra),
                    pid: Int(notification.pointee.be_pid),
                    arrivedWhileIdle: idle
                )
                PQfreemem(notification)
                core.onNotification?(event)
                continuation.yield(.notification(event))
                batch.append(event)
            }
            guard !batch.isEmpty, let onNotifications = core.onNotifications, let connection else { break }
            onNotifications(batch, PostgresListenerSession(connection: connection))
            idle = false
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError.connection(handle, prefix: "listener connection lost")
        }
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
