import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Errors carry the server's fields and a retry classification")
struct ErrorTests {
    @Test("unique violation: 23505 with detail, constraint, and not transient")
    func uniqueViolation() async throws {
        try await withTestConnection { connection async throws in
            let table = uniqueName("unique")
            try await connection.executeScript("create temporary table \(table) (id int primary key)")
            try await connection.execute("insert into \(unescaped: table) values (\(Int32(1)))")
            let error = await #expect(throws: PostgresError.self) {
                try await connection.execute("insert into \(unescaped: table) values (\(Int32(1)))")
            }
            #expect(error?.kind == .server)
            #expect(error?.sqlState == "23505")
            #expect(error?.detail == "Key (id)=(1) already exists.")
            #expect(error?.constraintName == "\(table)_pkey")
            #expect(error?.tableName == table)
            #expect(error?.query?.contains("insert into") == true)
            #expect(error?.isTransient == false)
            // The generic description leaves out DETAIL (row data); debugDescription has everything.
            #expect(error?.description.contains("23505") == true)
            #expect(error?.description.contains("already exists") == false)
            #expect(error?.debugDescription.contains("Key (id)=(1) already exists.") == true)
        }
    }

    @Test("raise exception carries message, hint and context")
    func raiseWithHint() async throws {
        try await withTestConnection { connection async throws in
            let error = await #expect(throws: PostgresError.self) {
                try await connection.executeScript(
                    "do $$ begin raise exception 'quota exceeded' using hint = 'raise the quota', detail = 'used 11 of 10'; end $$"
                )
            }
            #expect(error?.sqlState == "P0001")
            #expect(error?.message == "quota exceeded")
            #expect(error?.hint == "raise the quota")
            #expect(error?.detail == "used 11 of 10")
            #expect(error?.context?.contains("PL/pgSQL") == true)
        }
    }

    @Test("a syntax error reports its 1-based position")
    func syntaxPosition() async throws {
        try await withTestConnection { connection async throws in
            let error = await #expect(throws: PostgresError.self) {
                try await connection.query("select 1 frm t")
            }
            #expect(error?.sqlState == "42601")
            // "frm" parses as a column alias, so the error is at "t", the 14th character.
            #expect(error?.position == 14)
        }
    }

    @Test("serialization failure, deadlock and admin shutdown codes are transient", arguments: ["40001", "40P01", "57P01", "08006"])
    func transientCodes(code: String) async throws {
        try await withTestConnection { connection async throws in
            let error = await #expect(throws: PostgresError.self) {
                try await connection.executeScript("do $$ begin raise exception 'retry me' using errcode = '\(code)'; end $$")
            }
            #expect(error?.sqlState == code)
            #expect(error?.isTransient == true)
        }
    }

    @Test("a real deadlock is 40P01 and transient")
    func deadlock() async throws {
        try await TestDatabase.withTemporaryDatabase { url async throws in
            let first = try await PostgresConnection.connect(url: url)
            let second = try await PostgresConnection.connect(url: url)
            try await first.executeScript("create table pairs (id int primary key, n int); insert into pairs values (1, 0), (2, 0)")
            try await first.executeScript("begin; update pairs set n = 1 where id = 1")
            try await second.executeScript("begin; update pairs set n = 1 where id = 2")
            let blocked = Task { try await first.executeScript("update pairs set n = 2 where id = 2") }
            try await Task.sleep(for: .milliseconds(200))
            let closing = Task { try await second.executeScript("update pairs set n = 2 where id = 1") }
            let errors = [await blocked.result, await closing.result].compactMap { result -> PostgresError? in
                if case .failure(let error) = result { return error as? PostgresError }
                return nil
            }
            #expect(errors.count == 1)
            #expect(errors.first?.sqlState == "40P01")
            #expect(errors.first?.isTransient == true)
            await first.close()
            await second.close()
        }
    }

    @Test("a terminated backend gives a transient connection error, and the connection reports itself unusable")
    func terminatedBackend() async throws {
        let name = uniqueName("terminated")
        try await withTestConnection(applicationName: name) { connection async throws in
            #expect(try await terminateBackends(applicationName: name) == 1)
            let error = await #expect(throws: PostgresError.self) {
                try await connection.query("select 1")
            }
            #expect(error?.kind == .connection)
            #expect(error?.isTransient == true)
            #expect(error?.sqlState == "57P01")
            #expect(error?.message.hasPrefix("terminating connection due to administrator command") == true)
            #expect(connection.isUsable == false)
        }
    }

    @Test("connecting to a closed port is a transient connection error with libpq's message")
    func connectionRefused() async throws {
        let error = await #expect(throws: PostgresError.self) {
            try await PostgresConnection.connect(url: "postgresql://postgres@127.0.0.1:1/nightshift?connect_timeout=2")
        }
        #expect(error?.kind == .connection)
        #expect(error?.isTransient == true)
        #expect(error?.message.contains("127.0.0.1") == true)
        #expect(error?.isLoginRejected == false, "nothing answered: the server may still come up")
    }

    @Test("an unknown database or role is a rejected login: waiting for the server will not fix it")
    func loginRejected() async throws {
        var components = try #require(URLComponents(string: TestDatabase.url))
        components.path = "/no_such_database_here"
        let database = await #expect(throws: PostgresError.self) {
            try await PostgresConnection.connect(url: try #require(components.string))
        }
        #expect(database?.isLoginRejected == true, "\(String(describing: database))")
        #expect(database?.message.contains("database \"no_such_database_here\" does not exist") == true)

        components = try #require(URLComponents(string: TestDatabase.url))
        components.user = "no_such_role_here"
        let role = await #expect(throws: PostgresError.self) {
            try await PostgresConnection.connect(url: try #require(components.string))
        }
        #expect(role?.isLoginRejected == true, "\(String(describing: role))")
        // A server error after the login is never a rejected login, whatever its text says.
        try await withTestConnection { connection async throws in
            let missing = await #expect(throws: PostgresError.self) { try await connection.query("select * from no_such_table_here") }
            #expect(missing?.message.contains("does not exist") == true)
            #expect(missing?.isLoginRejected == false)
        }
    }

    @Test("a closed connection refuses queries")
    func closedConnection() async throws {
        let connection = try await PostgresConnection.connect(url: TestDatabase.url)
        await connection.close()
        let error = await #expect(throws: PostgresError.self) { try await connection.query("select 1") }
        #expect(error?.kind == .closed)
        #expect(error?.isTransient == false)
    }
}
