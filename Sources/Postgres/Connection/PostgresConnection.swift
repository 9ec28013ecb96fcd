import CLibPQ
import Synchronization

/// One libpq connection. An actor whose executor is a dedicated thread: every (blocking) libpq call
/// runs there, never on Swift's cooperative pool. Use one connection for one job at a time (the
/// pool hands them out exclusively); concurrent callers are serialised query by query.
public actor PostgresConnection {
    private let executor: PostgresThreadExecutor
    /// The settings this connection was opened with.
    public nonisolated let configuration: PostgresConfiguration
    /// The owned PGconn; nil once closed.
    private var connection: LibPQConnection?
    /// Health as last observed on the connection's thread, readable without a hop (see `Health`).
    private let health = Atomic<UInt8>(Health.ready.rawValue)
    /// Cancels the running statement from any thread (see `requestCancel`).
    let canceller = QueryCanceller()

    /// Runs the actor's jobs on the dedicated thread.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private init(configuration: PostgresConfiguration) {
        self.configuration = configuration
        executor = PostgresThreadExecutor(name: "pg-connection")
    }

    /// Opens a connection; failures throw `PostgresError` of kind `.connection` (transient).
    public static func connect(_ configuration: PostgresConfiguration) async throws -> PostgresConnection {
        let connection = PostgresConnection(configuration: configuration)
        try await connection.open()
        return connection
    }

    /// Opens a connection from a URL or conninfo string.
    public static func connect(url: String, applicationName: String = "nightshift") async throws -> PostgresConnection {
        try await connect(PostgresConfiguration(url: url, applicationName: applicationName))
    }

    private func open() throws {
        do {
            connection = try ConnectionParameters.connect(configuration)
            canceller.attach(connection!.pointer)
        } catch {
            health.store(Health.broken.rawValue, ordering: .relaxed)
            throw error
        }
    }

    /// Closes the connection; later queries throw `PostgresError` of kind `.closed`.
    public func close() {
        canceller.detach()
        connection = nil
        health.store(Health.broken.rawValue, ordering: .relaxed)
    }

    /// The server process ID serving this connection (as in `pg_stat_activity.pid`).
    public var backendPID: Int {
        handle.map { Int(PQbackendPID($0)) } ?? 0
    }

    /// False once the connection is closed or libpq saw it break; the pool discards such connections.
    public nonisolated var isUsable: Bool {
        health.load(ordering: .relaxed) != Health.broken.rawValue
    }

    /// True while a transaction is open or failed (the pool rolls it back before reuse).
    nonisolated var isInTransaction: Bool {
        health.load(ordering: .relaxed) == Health.inTransaction.rawValue
    }

    /// Re-reads libpq's connection and transaction status after every round trip.
    func refreshHealth() {
        let state: Health
        if let handle, PQstatus(handle) == CONNECTION_OK {
            switch PQtransactionStatus(handle) {
            case PQTRANS_IDLE: state = .ready
            case PQTRANS_UNKNOWN: state = .broken
            default: state = .inTransaction
            }
        } else {
            state = .broken
        }
        health.store(state.rawValue, ordering: .relaxed)
    }

    /// Reports whether the server is still there, reading pending input first; catches connections
    /// the server closed while they sat idle in the pool (e.g. `pg_terminate_backend`).
    func checkAlive() -> Bool {
        _ = drainIdleInput()
        refreshHealth()
        return isUsable
    }

    /// Reads, without blocking, whatever the server sent while the connection was idle. Returns false
    /// when that reveals the connection is gone, so a query is not sent into a dead socket (where the
    /// server's FATAL reason could be lost to a reset).
    func drainIdleInput() -> Bool {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return false }
        // A terminated backend leaves an unsolicited FATAL message and then EOF in the socket; libpq
        // notices EOF only on a read after the message was consumed, hence the short loop.
        for _ in 0..<4 {
            var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) > 0 else { break }
            if PQconsumeInput(handle) == 0 { break }
            // Parses what was read; ordinary connections do not LISTEN, so notifications are dropped.
            while let notification = PQnotifies(handle) { PQfreemem(notification) }
        }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// Rolls back a transaction a pool user left open, so the next user starts clean.
    func rollbackLeftoverTransaction() {
        guard isInTransaction else { return }
        _ = try? simpleQuery("ROLLBACK")
    }

    /// The PGconn, or nil once closed.
    var handle: OpaquePointer? { connection?.pointer }

    /// Its open connection: the PGconn and the statements prepared on it.
    var libpq: LibPQConnection? { connection }

    /// Adds the server's FATAL reason (e.g. 57P01) to a lost-connection error.
    func explain(_ error: PostgresError) -> PostgresError {
        connection?.explain(error) ?? error
    }

    deinit {
        // `connection` is released after this body, on this thread; PQfinish only sends Terminate.
        canceller.detach()
        executor.shutdown()
    }

    enum Health: UInt8 {
        case ready, inTransaction, broken
    }
}
