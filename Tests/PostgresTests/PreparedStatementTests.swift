import Foundation
import Postgres
import Testing
import TestSupport

@Suite("Prepared queries: planned once per connection, never an error of their own")
struct PreparedStatementTests {
    /// This connection's prepared statements whose SQL is `sql`: (name, executions).
    private func prepared(_ sql: String, on connection: PostgresConnection) async throws -> [(name: String, calls: Int)] {
        try await connection.query("""
            select name, (generic_plans + custom_plans)::int8 from pg_prepared_statements where statement = \(sql)
            """).map { (try $0.decode(String.self, at: 0), try $0.decode(Int.self, at: 1)) }
    }

    @Test("a prepared query is prepared once on its connection and run by name after that")
    func reused() async throws {
        try await withTestConnection { connection async throws in
            let query = PostgresQuery.prepared("select \(20) + \(22) as answer")
            for _ in 1...3 {
                #expect(try await connection.query(query)[0].decode(Int.self, column: "answer") == 42)
            }
            let statements = try await prepared(query.sql, on: connection)
            #expect(statements.count == 1)
            #expect(statements.first?.name.hasPrefix("nightshift_") == true)
            #expect(statements.first?.calls == 3)
            // Other values, same statement.
            #expect(try await connection.query(.prepared("select \(1) + \(2) as answer"))[0].decode(Int.self, at: 0) == 3)
            #expect(try await prepared(query.sql, on: connection).first?.calls == 4)
            // An unmarked query stays unnamed.
            let plain: PostgresQuery = "select \(5) * \(5) as unmarked"
            _ = try await connection.query(plain)
            #expect(try await prepared(plain.sql, on: connection).isEmpty)
        }
    }

    @Test("a connection configured not to prepare runs marked queries unnamed")
    func switchedOff() async throws {
        var configuration = TestDatabase.configuration(applicationName: "nightshift-prepared-off")
        configuration.preparesStatements = false
        let connection = try await PostgresConnection.connect(configuration)
        let query = PostgresQuery.prepared("select \(4) as switched_off")
        for _ in 1...2 {
            #expect(try await connection.query(query)[0].decode(Int.self, at: 0) == 4)
        }
        #expect(try await prepared(query.sql, on: connection).isEmpty)
        await connection.close()
    }

    @Test("a prepared query inside a transaction runs unnamed, so a failure there cannot abort the transaction")
    func insideTransaction() async throws {
        try await withTestConnection { connection async throws in
            let query = PostgresQuery.prepared("select \(7) as in_transaction")
            let answer = try await connection.withTransaction { connection in
                try connection.query(query)[0].decode(Int.self, at: 0)
            }
            #expect(answer == 7)
            #expect(try await prepared(query.sql, on: connection).isEmpty)
        }
    }

    @Test("statements deallocated under the connection (DEALLOCATE ALL): the call runs unnamed and answers")
    func deallocatedUnderneath() async throws {
        try await withTestConnection { connection async throws in
            let query = PostgresQuery.prepared("select \(3) as deallocated")
            #expect(try await connection.query(query)[0].decode(Int.self, at: 0) == 3)
            try await connection.executeScript("deallocate all")
            for _ in 1...2 {
                #expect(try await connection.query(query)[0].decode(Int.self, at: 0) == 3)
            }
            // Preparing is off for this connection from then on (as behind a transaction pooler).
            #expect(try await prepared(query.sql, on: connection).isEmpty)
        }
    }

    @Test("a function replaced with other result columns: the next call answers with the new ones, then prepares anew")
    func resultTypeChanged() async throws {
        try await withTestConnection { connection async throws in
            let function = uniqueName("pg_temp.prepared_result")
            try await connection.executeScript("create function \(function)(n int8) returns table (a int8) language sql as 'select n'")
            let query = PostgresQuery.prepared("select * from \(unescaped: function)(\(1))")
            let first = try await connection.query(query)
            #expect(first.columnNames == ["a"])
            try await connection.executeScript("""
                drop function \(function)(int8);
                create function \(function)(n int8) returns table (a int8, b text) language sql as 'select n, ''two''';
                """)
            let second = try await connection.query(query)
            #expect(second.columnNames == ["a", "b"])
            #expect(try second[0].decode(String.self, column: "b") == "two")
            #expect(try await prepared(query.sql, on: connection).isEmpty)  // deallocated, ran unnamed
            _ = try await connection.query(query)
            #expect(try await prepared(query.sql, on: connection).count == 1)  // prepared again
        }
    }

    @Test("behind PgBouncer in transaction mode, a statement prepared on another server connection: the call still answers")
    func transactionPooler() async throws {
        try await PgBouncer.with(upstream: TestDatabase.url, mode: .transaction) { url async throws in
            let client = try await PostgresConnection.connect(url: url, applicationName: "nightshift-prepared-pooled")
            let other = try await PostgresConnection.connect(url: url, applicationName: "nightshift-prepared-holder")
            let query = PostgresQuery.prepared("select \(11) * \(2) as pooled")
            // Prepared on the pool's only server connection…
            #expect(try await client.query(query)[0].decode(Int.self, at: 0) == 22)
            // …which another client now holds in a transaction: PgBouncer opens a second one for
            // the next call, where the statement does not exist.
            try await other.executeScript("begin; select 1")
            for _ in 1...3 {
                #expect(try await client.query(query)[0].decode(Int.self, at: 0) == 22)
            }
            try await other.executeScript("commit")
            for _ in 1...3 {
                #expect(try await client.query(query)[0].decode(Int.self, at: 0) == 22)
            }
            await client.close()
            await other.close()  // (on a failure above, stopping PgBouncer ends both)
        }
    }
}
