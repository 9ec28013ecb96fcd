import Postgres
import TestSupport
import Testing

@Suite("withTransaction commits on success and rolls back on throw")
struct TransactionTests {
    struct Boom: Error {}

    @Test("a committed row is visible to another connection")
    func commit() async throws {
        try await TestDatabase.withTemporaryDatabase { url async throws in
            let connection = try await PostgresConnection.connect(url: url)
            try await connection.executeScript("create table items (name text)")
            let count = try await connection.withTransaction { connection async throws in
                try connection.execute("insert into items values (\("kept"))")
                return try connection.query("select count(*) from items")[0].decode(Int.self, at: 0)
            }
            #expect(count == 1)
            let other = try await PostgresConnection.connect(url: url)
            #expect(try await other.query("select name from items")[0].decode(String.self, at: 0) == "kept")
            await other.close()
            await connection.close()
        }
    }

    @Test("a throwing body rolls back and the original error is rethrown")
    func rollback() async throws {
        try await withTestConnection { connection async throws in
            let table = uniqueName("rollback")
            try await connection.executeScript("create temporary table \(table) (name text)")
            await #expect(throws: Boom.self) {
                try await connection.withTransaction { connection async throws in
                    try connection.execute("insert into \(unescaped: table) values (\("lost"))")
                    throw Boom()
                }
            }
            #expect(try await select("count(*) from \(table)", as: Int.self, on: connection) == 0)
            // The connection is back outside a transaction and usable.
            #expect(try await connection.withTransaction { try $0.execute("insert into \(unescaped: table) values ('x')") } == 1)
        }
    }

    @Test("a caught statement error cannot be committed silently")
    func caughtErrorAborts() async throws {
        try await withTestConnection { connection async throws in
            let table = uniqueName("aborted")
            try await connection.executeScript("create temporary table \(table) (id int primary key)")
            let error = await #expect(throws: PostgresError.self) {
                try await connection.withTransaction { connection async throws in
                    try connection.execute("insert into \(unescaped: table) values (1)")
                    _ = try? connection.execute("insert into \(unescaped: table) values (1)")
                }
            }
            #expect(error?.sqlState == "25P02")
            #expect(try await select("count(*) from \(table)", as: Int.self, on: connection) == 0)
        }
    }

    @Test("the pool's withTransaction rolls back too, and the connection returns clean")
    func poolRollback() async throws {
        try await TestDatabase.withTemporaryDatabase { url async throws in
            let pool = PostgresPool(configuration: PostgresConfiguration(url: url), maxConnections: 1)
            try await pool.execute("create table items (name text)")
            await #expect(throws: Boom.self) {
                try await pool.withTransaction { connection async throws in
                    try connection.execute("insert into items values ('lost')")
                    throw Boom()
                }
            }
            try await pool.withTransaction { connection async throws in
                try connection.execute("insert into items values ('kept')")
            }
            let names = try await pool.query("select name from items").map { try $0.decode(String.self, at: 0) }
            #expect(names == ["kept"])
            await pool.close()
        }
    }
}
