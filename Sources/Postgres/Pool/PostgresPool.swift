import Synchronization

/// A bounded pool of `PostgresConnection`s, opened lazily. Callers wait when all are in use and get
/// `PostgresError` `.poolTimeout` after `acquireTimeout`; broken connections are discarded, never reused.
///
/// Not an actor: taking and returning a connection is a short critical section under a lock, in
/// the caller's own context, so a query costs one hop (to the connection's thread and back)
/// instead of three (pool, connection, pool).
public final class PostgresPool: Sendable {
    /// Where and how connections are opened.
    public let configuration: PostgresConfiguration
    /// The most connections open at once (in use, idle, or being opened).
    public let maxConnections: Int
    /// How long a caller waits for a free connection before `.poolTimeout`.
    public let acquireTimeout: Duration
    /// Idle connections unused this long are closed by `run()`, down to `minimumIdle`; nil keeps them.
    public let idleTimeout: Duration?
    /// Connections `run()` keeps open and idle, warm for the next burst.
    public let minimumIdle: Int

    let state = Mutex(State())

    struct State: ~Copyable {
        /// Idle connections with the moment each came back; the most recent last.
        var idle: [(connection: PostgresConnection, since: ContinuousClock.Instant)] = []
        /// Connections in use, idle, or being opened; never above `maxConnections`.
        var openCount = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var isClosed = false
    }

    /// A caller waiting for a connection, or for permission to open one.
    struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Grant, any Error>
        var timeout: Task<Void, Never>?
    }

    /// What a waiter is woken with: a released connection, or a free slot to open one itself.
    enum Grant: Sendable {
        case connection(PostgresConnection)
        case slot
    }

    /// Creates a pool; no connection is opened until the first use.
    public init(
        configuration: PostgresConfiguration,
        maxConnections: Int = 4,
        acquireTimeout: Duration = .seconds(2),
        idleTimeout: Duration? = nil,
        minimumIdle: Int = 0
    ) {
        precondition(maxConnections > 0, "a pool needs at least one connection")
        precondition((0...maxConnections).contains(minimumIdle), "minimumIdle must be between 0 and maxConnections")
        self.configuration = configuration
        self.maxConnections = maxConnections
        self.acquireTimeout = acquireTimeout
        self.idleTimeout = idleTimeout
        self.minimumIdle = minimumIdle
    }

    /// Lends a connection to `body` and takes it back afterwards (rolling back a transaction left open,
    /// discarding it if it broke). The body runs in the caller's isolation.
    public func withConnection<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let connection = try await acquire()
        let result: Result
        do {
            result = try await cancellingOnTaskCancel(connection) { try await body(connection) }
        } catch {
            let lost = (error as? PostgresError)?.kind == .connection
            await release(connection, discard: lost || connection.canceller.wasUsed)
            throw error
        }
        await release(connection, discard: connection.canceller.wasUsed)
        return result
    }

    /// Runs `body` in a transaction on a pooled connection (see `PostgresConnection.withTransaction`).
    @discardableResult
    public func withTransaction<Result: Sendable>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: @Sendable (isolated PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await withConnection { connection in try await connection.withTransaction(body) }
    }

    /// Runs one query on a pooled connection.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        // One hop to the connection both checks it is alive and runs the query; a connection
        // found dead before anything was sent is discarded and the query goes to another.
        for _ in 0...maxConnections {
            let connection = try await acquire(probe: false)
            let rows: PostgresRows?
            do {
                rows = try await cancellingOnTaskCancel(connection) { try await connection.queryIfAlive(query) }
            } catch {
                let lost = (error as? PostgresError)?.kind == .connection
                await release(connection, discard: lost || connection.canceller.wasUsed)
                throw error
            }
            await release(connection, discard: rows == nil || connection.canceller.wasUsed)
            if let rows { return rows }
        }
        throw PostgresError(kind: .connection, message: "no live connection: every pooled connection was found closed", query: query.sql)
    }

    /// Runs one statement on a pooled connection and returns the affected row count.
    @discardableResult
    public func execute(_ query: PostgresQuery) async throws -> Int {
        try await self.query(query).affectedRows
    }

    /// Counts for monitoring: connections open (including in use), idle, and callers waiting.
    public var statistics: (open: Int, idle: Int, waiting: Int) {
        state.withLock { ($0.openCount, $0.idle.count, $0.waiters.count) }
    }

    /// Closes idle connections, fails every waiter with `.poolClosed`, and closes in-use connections
    /// when they come back. Later acquisitions throw `.poolClosed`.
    public func close() async {
        let (pending, connections) = state.withLock { state in
            state.isClosed = true
            let taken = (state.waiters, state.idle.map(\.connection))
            state.waiters.removeAll()
            state.idle.removeAll()
            state.openCount -= taken.1.count
            return taken
        }
        for waiter in pending {
            waiter.timeout?.cancel()
            waiter.continuation.resume(throwing: closedError())
        }
        for connection in connections { await connection.close() }
    }
}
