extension PostgresPool {
    /// What `acquire` decided under the lock.
    private enum Take {
        case closed
        case idle(PostgresConnection, since: ContinuousClock.Instant)
        case open
        case wait
    }

    /// Takes a live idle connection, opens a new one below the limit, or waits for one.
    /// `probe: false` skips the liveness round trip for a recently used connection; the caller
    /// then checks liveness itself in the same hop as its query (`queryIfAlive`).
    func acquire(probe: Bool = true) async throws -> PostgresConnection {
        while true {
            let take: Take = state.withLock { state in
                if state.isClosed { return .closed }
                if let idle = state.idle.popLast() { return .idle(idle.connection, since: idle.since) }
                if state.openCount < maxConnections {
                    state.openCount += 1
                    return .open
                }
                return .wait
            }
            switch take {
            case .closed:
                throw closedError()
            case .idle(let connection, let since):
                // Idle connections can die unnoticed (server restart, pg_terminate_backend): probe
                // first. A single query on a connection released moments ago skips the separate
                // probe (as PgBouncer's server_check_delay does): it checks in the same hop.
                if !probe, ContinuousClock.now - since < Self.recentlyUsed { return connection }
                if await connection.checkAlive() { return connection }
                state.withLock { $0.openCount -= 1 }
            case .open:
                return try await openConnection()
            case .wait:
                switch try await waitForGrant() {
                case .connection(let connection):
                    return connection
                case .slot:
                    return try await openConnection()
                }
            }
        }
    }

    /// An idle connection younger than this is not probed before reuse.
    static var recentlyUsed: Duration { .milliseconds(500) }

    /// Opens a connection for a slot already counted in `openCount`.
    func openConnection() async throws -> PostgresConnection {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration)
        } catch {
            giveBackSlot()
            throw error
        }
        if state.withLock({ $0.isClosed }) {
            giveBackSlot()
            await connection.close()
            throw closedError()
        }
        return connection
    }

    /// Takes a connection back: hands it to the longest waiter, keeps it idle, or discards it.
    func release(_ connection: PostgresConnection, discard: Bool) async {
        if !discard, connection.isInTransaction { await connection.rollbackLeftoverTransaction() }
        let keep = !discard && connection.isUsable
        let outcome: Release = state.withLock { state in
            guard keep, !state.isClosed else { return .discard }
            if state.waiters.isEmpty {
                state.idle.append((connection, ContinuousClock.now))
                return .kept
            }
            return .handed(state.waiters.removeFirst())
        }
        switch outcome {
        case .handed(let waiter):
            waiter.timeout?.cancel()
            waiter.continuation.resume(returning: .connection(connection))
        case .kept:
            break
        case .discard:
            giveBackSlot()
            await connection.close()
        }
    }

    /// What `release` decided under the lock.
    private enum Release {
        case handed(Waiter)
        case kept
        case discard
    }

    /// A connection was discarded or failed to open: its slot is free again, and the longest
    /// waiters may open replacements themselves.
    private func giveBackSlot() {
        let granted: [Waiter] = state.withLock { state in
            state.openCount -= 1
            var granted: [Waiter] = []
            while !state.isClosed, state.openCount < maxConnections, !state.waiters.isEmpty {
                state.openCount += 1
                granted.append(state.waiters.removeFirst())
            }
            return granted
        }
        for waiter in granted {
            waiter.timeout?.cancel()
            waiter.continuation.resume(returning: .slot)
        }
    }

    private func waitForGrant() async throws -> Grant {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                // What changed since `acquire` looked is settled here, under the same lock that
                // release and cancellation take, so no grant is missed and no waiter is left behind.
                let immediate: Result<Grant, any Error>? = state.withLock { state in
                    if state.isClosed { return .failure(closedError()) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if let idle = state.idle.popLast() { return .success(.connection(idle.connection)) }
                    if state.openCount < maxConnections {
                        state.openCount += 1
                        return .success(.slot)
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let immediate {
                    continuation.resume(with: immediate)
                    return
                }
                let timeout = Task { [acquireTimeout] in
                    do { try await Task.sleep(for: acquireTimeout) } catch { return }
                    self.failWaiter(id, with: self.timeoutError())
                }
                let stillWaiting = state.withLock { state in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return false }
                    state.waiters[index].timeout = timeout
                    return true
                }
                if !stillWaiting { timeout.cancel() }
            }
        } onCancel: {
            self.failWaiter(id, with: CancellationError())
        }
    }

    private func failWaiter(_ id: Int, with error: any Error) {
        let waiter: Waiter? = state.withLock { state in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        guard let waiter else { return }
        waiter.timeout?.cancel()
        waiter.continuation.resume(throwing: error)
    }

    func timeoutError() -> PostgresError {
        PostgresError(
            kind: .poolTimeout,
            message: "no connection available within \(Self.format(acquireTimeout)); pool max \(maxConnections) in use"
        )
    }

    func closedError() -> PostgresError {
        PostgresError(kind: .poolClosed, message: "the connection pool is closed")
    }

    /// `2s`, `1.5s` or `250ms`: short enough for an error message.
    private static func format(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        if milliseconds >= 1000 { return "\(Double(milliseconds) / 1000)s" }
        return "\(milliseconds)ms"
    }
}
