import Foundation
import Postgres
import Testing

@Suite("Types round-trip through the server")
struct TypeRoundTripTests {
    @Test("integers, bools and strings keep their values")
    func scalars() async throws {
        try await withTestConnection { connection async throws in
            #expect(try await roundTrip(Int.max, on: connection) == Int.max)
            #expect(try await roundTrip(Int.min, on: connection) == Int.min)
            #expect(try await roundTrip(Int64(-42), on: connection) == -42)
            #expect(try await roundTrip(Int32.min, on: connection) == Int32.min)
            #expect(try await roundTrip(Int16(12_345), on: connection) == 12_345)
            #expect(try await roundTrip(true, on: connection) == true)
            #expect(try await roundTrip(false, on: connection) == false)
            let text = "naïve 'quoted' \"double\" \\ back, comma {brace} 日本 🙂"
            #expect(try await roundTrip(text, on: connection) == text)
            #expect(try await roundTrip("", on: connection) == "")
        }
    }

    @Test("integer decoding rejects overflow with a clear error")
    func integerOverflow() async throws {
        try await withTestConnection { connection async throws in
            let error = await #expect(throws: PostgresError.self) {
                try await select("70000::int4 as big", as: Int16.self, on: connection)
            }
            #expect(error?.kind == .decoding)
            #expect(error?.message.contains("\"big\"") == true)
            #expect(try await select("70000::int4", as: Int32.self, on: connection) == 70_000)
        }
    }

    @Test("doubles are exact, including NaN and infinities")
    func doubles() async throws {
        try await withTestConnection { connection async throws in
            for value in [0.1, 0.1 + 0.2, -1.5e-300, 1.7976931348623157e308, Double.leastNonzeroMagnitude, 123_456.789] {
                #expect(try await roundTrip(value, on: connection) == value)
            }
            #expect(try await roundTrip(Double.nan, on: connection).isNaN)
            #expect(try await roundTrip(Double.infinity, on: connection) == .infinity)
            #expect(try await roundTrip(-Double.infinity, on: connection) == -.infinity)
            #expect(try await select("'NaN'::float8", as: Double.self, on: connection).isNaN)
            #expect(try await select("'-Infinity'::float8", as: Double.self, on: connection) == -.infinity)
            #expect(try await select("0.1::float4", as: Float.self, on: connection) == Float(0.1))
        }
    }

    @Test("numeric keeps every digit as String and decodes exactly as Decimal when it fits")
    func numerics() async throws {
        try await withTestConnection { connection async throws in
            let long = "123456789012345678901234567890.123456789"
            #expect(try await select("'\(long)'::numeric", as: String.self, on: connection) == long)
            let tooLong = await #expect(throws: PostgresError.self) {
                try await select("'\(long)'::numeric", as: Decimal.self, on: connection)
            }
            #expect(tooLong?.kind == .decoding)
            #expect(tooLong?.message.contains("38 significant digits") == true)

            let fits = "12345678901234567890123456789.012345678"  // 38 significant digits
            let decimal = try await select("'\(fits)'::numeric", as: Decimal.self, on: connection)
            #expect(decimal == Decimal(string: fits))
            #expect(decimal.description == fits)
            #expect(
                try await select("0.1::numeric + 0.2::numeric", as: Decimal.self, on: connection)
                    == Decimal(string: "0.3")
            )
            #expect(
                try await select("'-0.000000000000000000000000000001'::numeric", as: Decimal.self, on: connection)
                    == Decimal(string: "-0.000000000000000000000000000001")
            )
            #expect(
                try await select("1e30::numeric", as: Decimal.self, on: connection)
                    == Decimal(sign: .plus, exponent: 30, significand: 1)
            )
            #expect(try await select("'NaN'::numeric", as: Decimal.self, on: connection).isNaN)

            let bound = try #require(Decimal(string: "98765432109876543210.0123456789"))
            #expect(try await roundTrip(bound, on: connection) == bound)
            let sum = try await connection.query("select \(Decimal(string: "0.1")!) + \(Decimal(string: "0.2")!)")
            #expect(try sum[0].decode(String.self, at: 0) == "0.3")
        }
    }

    @Test("uuid round-trips and decodes from the server's own uuid")
    func uuids() async throws {
        try await withTestConnection { connection async throws in
            let id = UUID()
            #expect(try await roundTrip(id, on: connection) == id)
            let fixed = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
            #expect(try await select("'\(fixed)'::uuid", as: UUID.self, on: connection) == UUID(uuidString: fixed))
            // The hand-written spelling is Foundation's, lower-cased, and the server's own text.
            for _ in 0..<1000 {
                let any = UUID()
                #expect(any.lowercasedString == any.uuidString.lowercased())
            }
            #expect(try await select("'\(id)'::uuid::text", as: String.self, on: connection) == id.lowercasedString)
            #expect(UUID(uuidString: "00000000-0000-0000-0000-000000000000")!.lowercasedString == "00000000-0000-0000-0000-000000000000")
            #expect(UUID(uuidString: "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF")!.lowercasedString == "ffffffff-ffff-ffff-ffff-ffffffffffff")
        }
    }

    @Test("timestamptz keeps microseconds and decodes the ISO output")
    func timestamps() async throws {
        try await withTestConnection { connection async throws in
            let date = try await select(
                "'2026-11-23 17:43:11.123456+00'::timestamptz",
                as: Date.self,
                on: connection
            )
            let components = Calendar(identifier: .gregorian).dateComponents(
                in: TimeZone(identifier: "UTC")!,
                from: date
            )
            #expect(components.year == 2026 && components.month == 11 && components.day == 23)
            #expect(components.hour == 17 && components.minute == 43 && components.second == 11)
            let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
            #expect(Int64(micros) % 1_000_000 == 123_456)

            // Bound Dates arrive with microseconds intact: the server's text shows them.
            let rows = try await connection.query("select \(date)::text, \(date) = '2026-11-23 17:43:11.123456+00'")
            #expect(try rows[0].decode(String.self, at: 0) == "2026-11-23 17:43:11.123456+00")
            #expect(try rows[0].decode(Bool.self, at: 1))
            #expect(try await roundTrip(date, on: connection) == date)

            let offset = try await select("'2026-01-01 05:30:00+05:30'::timestamptz", as: Date.self, on: connection)
            #expect(offset.timeIntervalSince1970 == 1_767_225_600)
            let old = try await select("'1969-12-31 23:59:59.5+00'::timestamptz", as: Date.self, on: connection)
            #expect(old.timeIntervalSince1970 == -0.5)
        }
    }

    @Test("a Date no timestamptz can hold is refused with 22008 before it is sent, never a trap in the encoder")
    func farDate() async throws {
        try await withTestConnection { connection async throws in
            for seconds in [1e13, -1e13, 1e300] {
                let error = await #expect(throws: PostgresError.self) {
                    _ = try await connection.query("select \(Date(timeIntervalSince1970: seconds))::timestamptz")
                }
                #expect(error?.sqlState == "22008", "\(seconds): \(String(describing: error))")
            }
        }
    }

    @Test("timestamptz infinity throws a clear error")
    func infiniteTimestamp() async throws {
        try await withTestConnection { connection async throws in
            let error = await #expect(throws: PostgresError.self) {
                try await select("'infinity'::timestamptz as due_at", as: Date.self, on: connection)
            }
            #expect(error?.kind == .decoding)
            #expect(error?.message.contains("infinity") == true)
            #expect(error?.message.contains("due_at") == true)
        }
    }

    @Test("date decodes to PostgresDate, round-trips, orders and prints YYYY-MM-DD")
    func dates() async throws {
        try await withTestConnection { connection async throws in
            let date = try await select("'2024-02-29'::date", as: PostgresDate.self, on: connection)
            #expect(date == PostgresDate(year: 2024, month: 2, day: 29))
            #expect(date.description == "2024-02-29")
            #expect(try await roundTrip(date, on: connection) == date)
            let ancient = try #require(PostgresDate(year: -43, month: 3, day: 15))
            #expect(try await roundTrip(ancient, on: connection) == ancient)
            #expect(try await select("'0044-03-15 BC'::date", as: PostgresDate.self, on: connection) == ancient)
            #expect(ancient < date)
            #expect(PostgresDate(year: 2023, month: 2, day: 29) == nil)
            let json = try JSONEncoder().encode([date])
            #expect(String(decoding: json, as: UTF8.self) == "[\"2024-02-29\"]")
            #expect(try JSONDecoder().decode([PostgresDate].self, from: json) == [date])
        }
    }

    struct Payload: Codable, Equatable, Sendable {
        var name: String
        var tags: [String]
        var score: Double
        var nested: [String: Int]
    }

    @Test("jsonb binds Encodable values and decodes Decodable ones")
    func json() async throws {
        try await withTestConnection { connection async throws in
            let payload = Payload(name: "it's \"json\"", tags: ["a", "b"], score: 0.5, nested: ["x": 1])
            let rows = try await connection.query(
                "select \(PostgresJSON(payload)) as doc, pg_typeof(\(PostgresJSON(payload)))::text as type"
            )
            #expect(try rows[0].decodeJSON(Payload.self, column: "doc") == payload)
            #expect(try rows[0].decode(PostgresJSON<Payload>.self, at: 0).value == payload)
            #expect(try rows[0].decode(String.self, column: "type") == "jsonb")
            let fromSQL = try await connection.query(
                "select json_build_object('name', 'n', 'tags', array['t'], 'score', 2, 'nested', '{}'::json)"
            )
            #expect(try fromSQL[0].decodeJSON(Payload.self, at: 0) == Payload(name: "n", tags: ["t"], score: 2, nested: [:]))
        }
    }

    @Test("NULL decodes into Optional and binds from nil; into a non-optional it names the column")
    func nulls() async throws {
        try await withTestConnection { connection async throws in
            let none: Int? = nil
            let rows = try await connection.query(
                "select \(none) as a, \(String?.none) as b, \(UUID?.none) is null as c, null::date as missing"
            )
            #expect(try rows[0].decode(Int?.self, column: "a") == nil)
            #expect(try rows[0].decode(String?.self, column: "b") == nil)
            #expect(try rows[0].decode(Bool.self, column: "c"))
            #expect(try rows[0].decode(PostgresDate?.self, column: "missing") == nil)
            #expect(rows[0].isNull(at: 3))
            let error = #expect(throws: PostgresError.self) { try rows[0].decode(PostgresDate.self, column: "missing") }
            #expect(error?.kind == .decoding)
            #expect(error?.message.contains("\"missing\"") == true)
            #expect(error?.message.contains("NULL") == true)
            #expect(try await roundTrip(Int?.some(7), on: connection) == 7)
        }
    }

    @Test("arrays bind with quotes, commas, backslashes and NULL-looking strings intact")
    func arrays() async throws {
        try await withTestConnection { connection async throws in
            let tricky = [
                "plain", "with,comma", "with \"quotes\"", "back\\slash", "NULL", "null", "", " padded ",
                "{braces}", "tab\there", "日本",
            ]
            let rows = try await connection.query(
                "select \(tricky) as a, cardinality(\(tricky)) as n, \(tricky)[5] is null as fifth_null"
            )
            #expect(try rows[0].decode([String].self, column: "a") == tricky)
            #expect(try rows[0].decode(Int.self, column: "n") == tricky.count)
            #expect(try rows[0].decode(Bool.self, column: "fifth_null") == false)

            let unnested = try await connection.query("select x from unnest(\(tricky)) with ordinality as u(x, i) order by i")
            #expect(try unnested.map { try $0.decode(String.self, at: 0) } == tricky)

            let ids = [UUID(), UUID()]
            #expect(try await roundTrip(ids, on: connection) == ids)
            #expect(try await roundTrip([1, -2, Int.max], on: connection) == [1, -2, Int.max])
            #expect(try await roundTrip([Int](), on: connection) == [])
            let withNull: [String?] = ["a", nil, "NULL"]
            #expect(try await roundTrip(withNull, on: connection) == withNull)
            let error = await #expect(throws: PostgresError.self) {
                try await select("array['a', null]", as: [String].self, on: connection)
            }
            #expect(error?.message.contains("NULL") == true)
        }
    }
}
