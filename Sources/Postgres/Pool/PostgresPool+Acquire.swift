extension PostgresPool {
    /// Takes a live idle connection, opens a new one below the limit, or waits for one.
    /// `probe: false` skips the liveness round trip for a recently used connection; the caller
    /// then checks liveness itself in the same hop as its query (`queryIfAlive`).
    func acquire(probe: Bool = true) async throws -> PostgresConnection {
        while true {
            guard !isClosed else { throw closedError() }
            if let connection = idle.popLast() {
                let since = idleSinceLast()
                // Idle connections can die unnoticed (server restart, pg_terminate_backend): probe
                // first. A single query on a connection released moments ago skips the separate
                // probe (as PgBouncer's server_check_delay does): it checks in the same hop.
                if !probe, ContinuousClock.now - since < Self.recentlyUsed { return connection }
                if await connection.checkAlive() { return connection }
                openCount -= 1
                continue
            }
            if openCount < maxConnections {
                openCount += 1
                return try await openConnection()
            }
            switch try await waitForGrant() {
            case .connection(let connection):
                return connection
            case .slot:
                return try await openConnection()
            }
        }
    }

    /// An idle connection younger than this is not probed before reuse.
    static var recentlyUsed: Duration { .milliseconds(500) }

    private func idleSinceLast() -> ContinuousClock.Instant {
        idleSince.popLast() ?? .now - .seconds(3600)
    }

    /// Opens a connection for a slot already counted in `openCount`.
    private func openConnection() async throws -> PostgresConnection {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration)
        } catch {
            openCount -= 1
            grantFreeSlots()
            throw error
        }
        guard !isClosed else {
            openCount -= 1
            await connection.close()
            throw closedError()
        }
        return connection
    }

    /// Takes a connection back: hands it to the longest waiter, keeps it idle, or discards it.
    func release(_ connection: PostgresConnection, discard: Bool) async {
        if !discard, connection.isInTransaction { await connection.rollbackLeftoverTransaction() }
        guard !isClosed, !discard, connection.isUsable else {
            openCount -= 1
            await connection.close()
            grantFreeSlots()
            return
        }
        if waiters.isEmpty {
            idle.append(connection)
            idleSince.append(ContinuousClock.now)
        } else {
            let waiter = waiters.removeFirst()
            waiter.timeout.cancel()
            waiter.continuation.resume(returning: .connection(connection))
        }
    }

    /// After a connection was discarded or failed to open, lets waiters open replacements themselves.
    private func grantFreeSlots() {
        while !isClosed, openCount < maxConnections, !waiters.isEmpty {
            openCount += 1
            let waiter = waiters.removeFirst()
            waiter.timeout.cancel()
            waiter.continuation.resume(returning: .slot)
        }
    }

    private func waitForGrant() async throws -> Grant {
        let id = nextWaiterID
        nextWaiterID += 1
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                let timeout = Task { [acquireTimeout] in
                    do { try await Task.sleep(for: acquireTimeout) } catch { return }
                    self.failWaiter(id, with: self.timeoutError())
                }
                waiters.append(Waiter(id: id, continuation: continuation, timeout: timeout))
            }
        } onCancel: {
            Task { await self.failWaiter(id, with: CancellationError()) }
        }
    }

    private func failWaiter(_ id: Int, with error: any Error) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiters.remove(at: index)
        waiter.timeout.cancel()
        waiter.continuation.resume(throwing: error)
    }

    nonisolated func timeoutError() -> PostgresError {
        PostgresError(
            kind: .poolTimeout,
            message: "no connection available within \(Self.format(acquireTimeout)); pool max \(maxConnections) in use"
        )
    }

    nonisolated func closedError() -> PostgresError {
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
