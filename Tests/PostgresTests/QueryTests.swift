import Foundation
import Postgres
import Testing

@Suite("Queries bind values, never splice them")
struct QueryTests {
    @Test("interpolated values become $n binds with type OIDs")
    func interpolation() {
        let id = 42
        let name = "x"
        let query: PostgresQuery = "select * from t where id = \(id) and name = \(name) and d = \(Date?.none)"
        #expect(query.sql == "select * from t where id = $1 and name = $2 and d = $3")
        #expect(query.binds.count == 3)
        #expect(query.binds.types == [.int8, .text, .timestamptz])
        #expect(query.binds.values == ["42", "x", nil])
        #expect(query.description == query.sql)
    }

    @Test("an injection attempt through a bound value stays a value")
    func injection() async throws {
        try await withTestConnection { connection async throws in
            let table = uniqueName("injection")
            try await connection.executeScript("create temporary table \(table) (name text)")
            let evil = "x'); drop table \(table); --"
            try await connection.execute("insert into \(unescaped: table) (name) values (\(evil))")
            let rows = try await connection.query("select name from \(unescaped: table) where name = \(evil)")
            #expect(rows.count == 1)
            #expect(try rows[0].decode(String.self, at: 0) == evil)
        }
    }

    @Test("unsafeSQL with caller-built binds")
    func unsafeSQL() async throws {
        try await withTestConnection { connection async throws in
            var binds = PostgresBindings()
            binds.append(20)
            binds.append(22)
            binds.append(text: "1 day", type: .unspecified)
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: "select $1 + $2 as total, $3::interval as i", binds: binds)
            )
            #expect(try rows[0].decode(Int.self, column: "total") == 42)
            #expect(try rows[0].decode(String.self, column: "i") == "1 day")
        }
    }

    @Test("rows expose columns, affected counts, tuples and collection access")
    func rows() async throws {
        try await withTestConnection { connection async throws in
            let table = uniqueName("rows")
            try await connection.executeScript("create temporary table \(table) (id int8 primary key, name text)")
            let inserted = try await connection.execute(
                "insert into \(unescaped: table) select g, 'n' || g from generate_series(1, 5) g"
            )
            #expect(inserted == 5)
            let rows = try await connection.query("select id, name from \(unescaped: table) order by id")
            #expect(rows.columnNames == ["id", "name"])
            #expect(rows.columnTypes == [.int8, .text])
            #expect(rows.count == 5)
            #expect(rows.affectedRows == 5)
            let (id, name) = try rows[2].decode(Int.self, String.self)
            #expect(id == 3 && name == "n3")
            #expect(try rows.map { try $0.decode(Int.self, column: "id") } == [1, 2, 3, 4, 5])
            let updated = try await connection.execute("update \(unescaped: table) set name = 'x' where id > \(3)")
            #expect(updated == 2)
            let unknown = #expect(throws: PostgresError.self) { try rows[0].decode(Int.self, column: "nope") }
            #expect(unknown?.message.contains("nope") == true)
            let wrongType = #expect(throws: PostgresError.self) { try rows[0].decode(Int.self, column: "name") }
            #expect(wrongType?.kind == .decoding)
            #expect(wrongType?.message.contains("\"name\"") == true)
        }
    }

    @Test("executeScript runs several statements with the simple protocol")
    func script() async throws {
        try await withTestConnection { connection async throws in
            let table = uniqueName("script")
            try await connection.executeScript(
                """
                create temporary table \(table) (n int);
                insert into \(table) values (1), (2);
                insert into \(table) values (3);
                """
            )
            #expect(try await select("count(*) from \(table)", as: Int.self, on: connection) == 3)
            // The extended protocol refuses several statements, so a bound query cannot smuggle a second one.
            await #expect(throws: PostgresError.self) {
                try await connection.query("select 1; select 2")
            }
        }
    }

    @Test("start-up settings make text output stable")
    func startupSettings() async throws {
        try await withTestConnection { connection async throws in
            let rows = try await connection.query(
                "select current_setting('DateStyle'), current_setting('TimeZone'), current_setting('extra_float_digits')"
            )
            let (dateStyle, timeZone, digits) = try rows[0].decode(String.self, String.self, String.self)
            #expect(dateStyle.hasPrefix("ISO"))
            #expect(timeZone == "UTC")
            #expect(digits == "3")
        }
    }

    @Test("decoding a large result stays fast")
    func bulkDecoding() async throws {
        try await withTestConnection { connection async throws in
            let rows = try await connection.query(
                """
                select g::int8, 'name ' || g, g * 0.5::float8, '2026-01-01'::timestamptz + g * interval '1 second',
                       md5(g::text)::uuid
                from generate_series(1, 200000) g
                """
            )
            let clock = ContinuousClock()
            var total = 0
            let elapsed = try clock.measure {
                for row in rows {
                    let (id, name, half, _, _) = try row.decode(Int.self, String.self, Double.self, Date.self, UUID.self)
                    total &+= id + name.utf8.count + Int(half)
                }
            }
            #expect(total > 0)
            // Generous bound (debug build, shared machine); the point is catching accidental quadratic work.
            #expect(elapsed < .seconds(10))
        }
    }
}
