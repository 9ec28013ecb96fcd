import Postgres
import TestSupport
import Testing

@Suite("Connections open from URLs and conninfo strings")
struct ConnectionTests {
    @Test(
        "a conninfo string and the application name work",
        .disabled(if: TestDatabase.url != "postgresql://postgres@127.0.0.1:54329/nightshift", "custom DATABASE_URL")
    )
    func conninfo() async throws {
        let connection = try await PostgresConnection.connect(
            url: "host=127.0.0.1 port=54329 user=postgres dbname=nightshift",
            applicationName: "conninfo-test"
        )
        let name = try await connection.query("select current_setting('application_name')")[0].decode(String.self, at: 0)
        #expect(name == "conninfo-test")
        #expect(await connection.backendPID > 0)
        await connection.close()
    }

    @Test("a URL's own options are kept alongside the start-up settings")
    func urlOptions() async throws {
        let url = TestDatabase.url + (TestDatabase.url.contains("?") ? "&" : "?") + "options=-c%20search_path%3Dpg_catalog"
        let connection = try await PostgresConnection.connect(url: url)
        let rows = try await connection.query("select current_setting('search_path'), current_setting('TimeZone')")
        #expect(try rows[0].decode(String.self, at: 0) == "pg_catalog")
        #expect(try rows[0].decode(String.self, at: 1) == "UTC")
        await connection.close()
    }

    @Test("an unparsable URL is a configuration error, not a transient one")
    func invalidURL() async throws {
        let error = await #expect(throws: PostgresError.self) {
            try await PostgresConnection.connect(url: "postgresql://127.0.0.1:54329/nightshift?no_such_option=1")
        }
        #expect(error?.kind == .configuration)
        #expect(error?.isTransient == false)
        #expect(error?.message.contains("no_such_option") == true)
    }

    @Test("a temporary database is created, usable, and dropped afterwards")
    func temporaryDatabase() async throws {
        let name = try await TestDatabase.withTemporaryDatabase { url async throws in
            #expect(url.hasPrefix("postgresql://"))
            let connection = try await PostgresConnection.connect(url: url)
            try await connection.executeScript("create table t (n int)")
            let name = try await connection.query("select current_database()")[0].decode(String.self, at: 0)
            // Left open on purpose: the forced drop must still succeed.
            _ = connection
            return name
        }
        #expect(name.hasPrefix("nightshift_test_"))
        try await withTestConnection { connection async throws in
            let exists = try await connection.query("select count(*) from pg_database where datname = \(name)")
            #expect(try exists[0].decode(Int.self, at: 0) == 0)
        }
    }

    @Test("notify inside a transaction is delivered on commit only")
    func notifyOnCommit() async throws {
        let channel = uniqueName("commit")
        let listener = PostgresListener(configuration: TestDatabase.configuration(), channels: [channel])
        var events = listener.makeAsyncIterator()
        let guardTask = watchdog(listener)
        defer { guardTask.cancel() }
        #expect(await events.next() == .listening)
        try await withTestConnection { connection async throws in
            struct Abort: Error {}
            _ = try? await connection.withTransaction { connection async throws in
                try connection.notify(channel: channel, payload: "rolled back")
                throw Abort()
            }
            try await connection.withTransaction { connection async throws in
                try connection.notify(channel: channel, payload: "committed")
            }
        }
        guard case .notification(let note) = await events.next() else {
            Issue.record("no notification")
            return
        }
        #expect(note.payload == "committed")
        listener.stop()
    }
}
