import ServiceLifecycle

/// The pool as a service of the process's lifecycle: while it runs, idle connections past
/// `idleTimeout` are closed (down to `minimumIdle`) and `minimumIdle` are kept warm; on graceful
/// shutdown or cancellation it closes. Put it first in a `ServiceGroup`: services stop in reverse
/// order, so every user of the pool has stopped before it closes.
extension PostgresPool: Service {
    /// Maintains the pool until graceful shutdown or cancellation, then closes every connection.
    /// It does not throw: a failed connection attempt is retried at the next maintenance.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.maintain()
                try? await Task.sleep(for: self.maintenanceInterval)
            }
        }
        await close()
    }

    /// Half the idle timeout (so a connection is closed at most 1.5× its timeout after its last
    /// use), at most 30 s and at least 100 ms.
    var maintenanceInterval: Duration {
        min(.seconds(30), max(.milliseconds(100), (idleTimeout ?? .seconds(60)) / 2))
    }

    /// Closes the connections idle past the timeout, oldest first, keeping `minimumIdle`; then
    /// opens connections until `minimumIdle` are idle (a failure to connect is retried next time).
    func maintain() async {
        if let idleTimeout {
            let cutoff = ContinuousClock.now - idleTimeout
            let expired = state.withLock { state -> [PostgresConnection] in
                // `idle` holds the most recently returned last, so the expired ones lead.
                let surplus = max(0, state.idle.count - minimumIdle)
                let count = min(surplus, state.idle.prefix { $0.since < cutoff }.count)
                let taken = state.idle.prefix(count).map(\.connection)
                state.idle.removeFirst(count)
                state.openCount -= count
                return taken
            }
            for connection in expired { await connection.close() }
        }
        while true {
            let reserved = state.withLock { state -> Bool in
                guard !state.isClosed, state.waiters.isEmpty, state.idle.count < minimumIdle,
                      state.openCount < maxConnections else { return false }
                state.openCount += 1
                return true
            }
            // A failed open gives its slot back; the next round tries again.
            guard reserved, let connection = try? await openConnection() else { return }
            await release(connection, discard: false)
        }
    }
}

/// Runs `body` until it returns or graceful shutdown begins, whichever comes first.
private func cancelWhenGracefulShutdown(_ body: @escaping @Sendable () async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        group.addTask { await body() }
        group.addTask {
            // Resumes when graceful shutdown starts (or the group is cancelled).
            try? await gracefulShutdown()
        }
        await group.next()
        group.cancelAll()
    }
}
