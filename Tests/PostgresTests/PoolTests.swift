import Postgres
import TestSupport
import Testing

@Suite("PostgresPool bounds, waits, times out and replaces broken connections", .timeLimit(.minutes(1)))
struct PoolTests {
    /// A one-shot signal between tasks.
    final class Signal: Sendable {
        let stream: AsyncStream<Void>
        let continuation: AsyncStream<Void>.Continuation
        init() { (stream, continuation) = AsyncStream<Void>.makeStream() }
        func fire() { continuation.yield(()) }
        func wait() async { for await _ in stream { return } }
    }

    /// Holds one pooled connection until `release` fires; `held` fires once it has it.
    func hold(_ pool: PostgresPool, held: Signal, release: Signal) -> Task<Int, any Error> {
        Task {
            try await pool.withConnection { connection async throws in
                held.fire()
                await release.wait()
                return await connection.backendPID
            }
        }
    }

    @Test("when all connections are busy a caller waits, then times out with a clear error")
    func exhaustionTimesOut() async throws {
        let pool = PostgresPool(configuration: TestDatabase.configuration(), maxConnections: 2, acquireTimeout: .milliseconds(300))
        let release = Signal()
        let (heldA, heldB) = (Signal(), Signal())
        let a = hold(pool, held: heldA, release: release)
        let b = hold(pool, held: heldB, release: release)
        await heldA.wait()
        await heldB.wait()

        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: PostgresError.self) { try await pool.query("select 1") }
        #expect(clock.now - start >= .milliseconds(280))
        #expect(error?.kind == .poolTimeout)
        #expect(error?.message == "no connection available within 300ms; pool max 2 in use")
        #expect(error?.isTransient == false)

        release.fire()
        release.fire()
        _ = try await (a.value, b.value)
        #expect(pool.statistics.idle == 2)
        await pool.close()
    }

    @Test("a waiting caller gets the connection as soon as it is released")
    func waiterIsServed() async throws {
        let pool = PostgresPool(configuration: TestDatabase.configuration(), maxConnections: 1, acquireTimeout: .seconds(10))
        let held = Signal()
        let release = Signal()
        let holder = hold(pool, held: held, release: release)
        await held.wait()
        let waiter = Task {
            try await pool.query("select pg_backend_pid()")[0].decode(Int.self, at: 0)
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(pool.statistics.waiting == 1)
        release.fire()
        let holderPID = try await holder.value
        let waiterPID = try await waiter.value
        #expect(holderPID == waiterPID)
        #expect(pool.statistics.open == 1)
        await pool.close()
    }

    @Test("an idle connection whose backend was terminated is replaced, not handed out")
    func terminatedIdleConnectionIsReplaced() async throws {
        let name = uniqueName("pool_idle")
        let pool = PostgresPool(configuration: TestDatabase.configuration(applicationName: name), maxConnections: 1)
        let before = try await pool.query("select pg_backend_pid()")[0].decode(Int.self, at: 0)
        #expect(try await terminateBackends(applicationName: name) == 1)
        let after = try await pool.query("select pg_backend_pid()")[0].decode(Int.self, at: 0)
        #expect(after != before)
        #expect(pool.statistics.open == 1)
        await pool.close()
    }

    @Test("a connection that breaks while in use fails transiently and is discarded")
    func brokenInUseIsDiscarded() async throws {
        let name = uniqueName("pool_busy")
        let pool = PostgresPool(configuration: TestDatabase.configuration(applicationName: name), maxConnections: 1)
        let error = await #expect(throws: PostgresError.self) {
            try await pool.withConnection { connection async throws in
                let pid = try await connection.query("select pg_backend_pid()")[0].decode(Int.self, at: 0)
                _ = try await terminateBackends(applicationName: name)
                _ = pid
                try await connection.query("select 1")
            }
        }
        #expect(error?.isTransient == true)
        #expect(pool.statistics.open == 0)
        #expect(try await pool.query("select 1")[0].decode(Int.self, at: 0) == 1)
        await pool.close()
    }

    @Test("close fails waiters and later callers with poolClosed")
    func closeFailsWaiters() async throws {
        let pool = PostgresPool(configuration: TestDatabase.configuration(), maxConnections: 1, acquireTimeout: .seconds(10))
        let held = Signal()
        let release = Signal()
        let holder = hold(pool, held: held, release: release)
        await held.wait()
        let waiter = Task { try await pool.query("select 1") }
        try await Task.sleep(for: .milliseconds(100))
        await pool.close()
        let waiterError = await #expect(throws: PostgresError.self) { try await waiter.value }
        #expect(waiterError?.kind == .poolClosed)
        release.fire()
        _ = try await holder.value
        #expect(pool.statistics.open == 0)
        let laterError = await #expect(throws: PostgresError.self) { try await pool.query("select 1") }
        #expect(laterError?.kind == .poolClosed)
    }

    @Test("many tasks query concurrently through a small pool")
    func concurrencySmoke() async throws {
        let pool = PostgresPool(configuration: TestDatabase.configuration(), maxConnections: 4, acquireTimeout: .seconds(30))
        let sum = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 1...200 {
                group.addTask {
                    if index % 10 == 0 {
                        return try await pool.withTransaction { connection async throws in
                            try connection.query("select \(index) + 0")[0].decode(Int.self, at: 0)
                        }
                    }
                    return try await pool.query("select \(index)::int8 * 1")[0].decode(Int.self, at: 0)
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(sum == 200 * 201 / 2)
        let statistics = pool.statistics
        #expect(statistics.open <= 4)
        #expect(statistics.waiting == 0)
        await pool.close()
    }
}
