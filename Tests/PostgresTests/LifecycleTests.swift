import Foundation
import Postgres
import ServiceLifecycle
import TestSupport
import Testing

@Suite("cancellation, timeouts and the pool's lifecycle", .timeLimit(.minutes(1)))
struct LifecycleTests {
    @Test("cancelling the task cancels its statement on the server: a 30 s pg_sleep returns at once")
    func taskCancellationCancelsTheStatement() async throws {
        let pool = PostgresPool(configuration: TestDatabase.configuration(), maxConnections: 2)
        let started = ContinuousClock.now
        let marker = "cancel-\(UInt32.random(in: 0...UInt32.max))"
        let sleeper = Task { try await pool.execute("select pg_sleep(30), \(marker)::text") }
        try await Task.sleep(for: .milliseconds(300))
        sleeper.cancel()
        let result = await sleeper.result
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(throws: CancellationError.self) { try result.get() }
        // The connection that received the cancel request is not reused; the pool still serves.
        let pids = try await pool.query("""
            select pid from pg_stat_activity where query like 'select pg_sleep(30), $1%' and state = 'active' and pid <> pg_backend_pid()
            """)
        #expect(pids.count == 0, "no statement is left running on the server")
        #expect(try await pool.query("select 1")[0].decode(Int.self, at: 0) == 1)
        await pool.close()
    }

    @Test("a transaction's statement is cancelled with its task, and the transaction rolled back")
    func cancellingATransaction() async throws {
        let pool = PostgresPool(configuration: TestDatabase.configuration(), maxConnections: 2)
        let table = "lifecycle_\(UInt32.random(in: 0...UInt32.max))"
        try await pool.execute(PostgresQuery(unsafeSQL: "create table \(table) (n int)"))
        let writer = Task {
            try await pool.withTransaction { connection in
                try connection.execute(PostgresQuery(unsafeSQL: "insert into \(table) values (1)"))
                try connection.execute("select pg_sleep(30)")
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        writer.cancel()
        await #expect(throws: CancellationError.self) { try await writer.value }
        #expect(try await pool.query(PostgresQuery(unsafeSQL: "select count(*) from \(table)"))[0].decode(Int.self, at: 0) == 0)
        try await pool.execute(PostgresQuery(unsafeSQL: "drop table \(table)"))
        await pool.close()
    }

    @Test("statement_timeout ends a statement with an error of kind timeout, transient")
    func statementTimeout() async throws {
        var configuration = TestDatabase.configuration()
        configuration.statementTimeout = .milliseconds(200)
        let pool = PostgresPool(configuration: configuration, maxConnections: 1)
        let error = await #expect(throws: PostgresError.self) { try await pool.execute("select pg_sleep(5)") }
        #expect(error?.kind == .timeout)
        #expect(error?.sqlState == "57014")
        #expect(error?.isTransient == true)
        #expect(try await pool.query("show statement_timeout")[0].decode(String.self, at: 0) == "200ms")
        await pool.close()
    }

    @Test("idle_in_transaction_session_timeout ends a stuck transaction's session: kind timeout, connection discarded")
    func idleInTransactionTimeout() async throws {
        var configuration = TestDatabase.configuration()
        configuration.idleInTransactionTimeout = .milliseconds(200)
        let pool = PostgresPool(configuration: configuration, maxConnections: 1)
        let error = await #expect(throws: PostgresError.self) {
            try await pool.withTransaction { connection in
                try connection.execute("select 1")
                // Idle inside the transaction, as a stuck client would be.
                try await Task.sleep(for: .milliseconds(800))
                try connection.execute("select 2")
            }
        }
        #expect(error?.kind == .timeout, "\(String(describing: error))")
        #expect(error?.sqlState == "25P03")
        #expect(try await pool.query("select 3")[0].decode(Int.self, at: 0) == 3, "a new connection replaces the ended one")
        await pool.close()
    }

    @Test("as a service: idle connections close after the idle timeout down to the minimum, which is kept warm; shutdown closes the pool")
    func idleTimeoutAndMinimum() async throws {
        let name = "pool-lifecycle-\(UInt32.random(in: 0...UInt32.max))"
        let pool = PostgresPool(
            configuration: TestDatabase.configuration(applicationName: name), maxConnections: 4,
            idleTimeout: .milliseconds(400), minimumIdle: 1)
        let observer = PostgresPool(configuration: TestDatabase.configuration(), maxConnections: 1)
        func serverSide() async throws -> Int {
            try await observer.query("select count(*)::int from pg_stat_activity where application_name = \(name)")[0].decode(Int.self, at: 0)
        }
        let group = ServiceGroup(configuration: .init(services: [pool], logger: .init(label: "test")))
        let running = Task { try await group.run() }

        try await waitUntil { try await serverSide() == 1 }  // the minimum is opened without any use
        // Four at once: four connections.
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            // Long enough that all four hold a connection at once, even on a loaded machine.
            for _ in 0..<4 { tasks.addTask { try await pool.execute("select pg_sleep(1.5)") } }
            // Checked while they sleep: once they are done, a connection that finished first may
            // already be idle past the 400 ms timeout on a loaded machine (seen in CI).
            try await waitUntil { pool.statistics.open == 4 }
            try await tasks.waitForAll()
        }
        try await waitUntil { try await serverSide() == 1 }  // idle past the timeout: back to the minimum
        #expect(pool.statistics.open == 1)

        await group.triggerGracefulShutdown()
        try await running.value
        try await waitUntil { try await serverSide() == 0 }
        await #expect(throws: PostgresError.self) { try await pool.execute("select 1") }
        await observer.close()
    }

    private func waitUntil(_ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("condition not met within 10 s")
    }
}
