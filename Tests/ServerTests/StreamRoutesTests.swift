import Engine
import Foundation
import Hummingbird
import HummingbirdTesting
import Postgres
import Server
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("GET /api/v1/stream: run events over one LISTEN connection", .serialized)
struct StreamRoutesTests {
    static let operatorID = "00000000-0000-4000-8000-0000000000c1"
    static let userID = "00000000-0000-4000-8000-0000000000c2"

    /// A migrated database with the built-in functions, a live server whose hub pings every
    /// 200 ms, the owner's pool for SQL, and the hub.
    func withStreamServer(
        bufferSize: Int = 256,
        _ body: @escaping @Sendable (_ port: Int, _ owner: PostgresPool, _ hub: RunEventHub, _ client: any TestClientProtocol) async throws -> Void
    ) async throws {
        try await TestDatabase.withMigratedDatabase { url async throws in
            let owner = PostgresPool(configuration: PostgresConfiguration(url: url), maxConnections: 2)
            try await FunctionRegistry(Builtins.all).sync(to: owner)
            let config = try await testConfig()
            let pool = PostgresPool(configuration: PostgresConfiguration(url: TestDatabase.appURL(url)), maxConnections: 2)
            let hub = RunEventHub(database: pool, pingInterval: .milliseconds(200), bufferSize: bufferSize)
            let authenticator = try await NightshiftServer.checkedAuthenticator(config: config)
            let router = try NightshiftServer.makeRouter(
                config: config, database: pool, functions: [Open()], authenticator: authenticator, runEvents: hub)
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            do {
                try await app.test(.live) { client in try await body(client.port!, owner, hub, client) }
                await hub.shutdown()
                await pool.close()
                await owner.close()
            } catch {
                await hub.shutdown()
                await pool.close()
                await owner.close()
                throw error
            }
        }
    }

    static func serviceToken() async throws -> String { try await token(role: "service_role") }

    /// Polls `condition` until it holds or `seconds` pass.
    static func eventually(_ seconds: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    static func listeners(_ owner: PostgresPool) async throws -> Int {
        try await owner.query("""
            select count(*)::int from pg_stat_activity
            where datname = current_database() and application_name = 'nightshift-stream'
            """)[0].decode(Int.self, at: 0)
    }

    static func runEvent(_ event: SSEClient.Event?) -> [String: Any]? {
        guard let event, event.name == "run", let data = event.data.data(using: .utf8) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    /// The first event about run `id`, past events about earlier runs: a connection opened while
    /// the hub still delivers the NOTIFY of a change made just before may get that change first
    /// (it is older than the client's refetch, so harmless), as the full suite's load showed.
    static func event(about id: String, on stream: SSEClient) async throws -> SSEClient.Event? {
        for _ in 0..<5 {
            guard let event = try await stream.nextEvent(timeout: 10) else { return nil }
            if runEvent(event)?["id"] as? String == id { return event }
        }
        return nil
    }

    @Test("a subscriber sees a run enqueued from SQL, claimed, a step, completed: in order, one event each")
    func lifecycle() async throws {
        let service = try await Self.serviceToken()
        try await withStreamServer { port, owner, _, _ in
            let stream = try SSEClient(port: port, path: "/api/v1/stream?function=nightshift/noop", token: service)
            defer { stream.close() }
            let head = try #require(try await stream.head())
            #expect(head.status == 200)
            #expect(head.headers["content-type"] == "text/event-stream")
            #expect(head.headers["cache-control"] == "no-store")
            #expect(try await stream.firstComment() == "connected")
            #expect(try await owner.query("select nightshift._run_events_wanted()")[0].decode(Bool.self, at: 0),
                    "the hub announced itself before saying connected")

            let id = try await owner.query("select nightshift.trigger('nightshift/noop')::text")[0].decode(String.self, at: 0)
            let token = try await owner.query(
                "select lease_token from nightshift.claim_runs('w1', 1, '30 seconds', array['nightshift/noop'])")[0].decode(Int64.self, at: 0)
            try await owner.execute("select nightshift.checkpoint_step(\(UUID(uuidString: id)!), \(token), 'fetch', '{}')")
            try await owner.execute("select nightshift.complete_run(\(UUID(uuidString: id)!), \(token), '{}')")

            var seen: [(String, String?, UInt64)] = []
            for _ in 0..<4 {
                let event = try await stream.nextEvent(timeout: 10)
                let data = try #require(Self.runEvent(event), "expected a run event, got \(String(describing: event))")
                #expect(data["id"] as? String == id)
                #expect(data["function"] as? String == "nightshift/noop")
                #expect((data["at"] as? String)?.hasSuffix("Z") == true)
                #expect(Array(data.keys).sorted() == ["at", "function", "id", "status", "step"])
                seen.append((data["status"] as? String ?? "", data["step"] as? String, UInt64(event?.id ?? "") ?? 0))
            }
            #expect(seen.map(\.0) == ["queued", "running", "running", "completed"])
            #expect(seen.map(\.1) == [nil, nil, "fetch", nil])
            #expect(seen.map(\.2) == seen.map(\.2).sorted() && Set(seen.map(\.2)).count == 4, "ids increase")
            // Pings keep the connection open between events.
            #expect(try await stream.nextComment(timeout: 5) == "ping")
        }
    }

    @Test("run= delivers only that run; function= only that function's runs")
    func filters() async throws {
        let service = try await Self.serviceToken()
        try await withStreamServer { port, owner, _, _ in
            let first = try await owner.query("select nightshift.trigger('nightshift/noop')::text")[0].decode(String.self, at: 0)
            let second = try await owner.query("select nightshift.trigger('nightshift/noop')::text")[0].decode(String.self, at: 0)
            let one = try SSEClient(port: port, path: "/api/v1/stream?run=\(first.uppercased())", token: service)
            defer { one.close() }
            let other = try SSEClient(port: port, path: "/api/v1/stream?function=nightshift/diagnostics", token: service)
            defer { other.close() }
            #expect(try await one.firstComment() == "connected")
            #expect(try await other.firstComment() == "connected")

            try await owner.execute("select nightshift.cancel(\(UUID(uuidString: second)!))")
            try await owner.execute("select nightshift.cancel(\(UUID(uuidString: first)!))")
            let event = Self.runEvent(try await one.nextEvent(timeout: 10))
            #expect(event?["id"] as? String == first, "the other run's change never reaches run=\(first)")
            #expect(event?["status"] as? String == "cancelled")

            let diagnostics = try await owner.query("select nightshift.trigger('nightshift/diagnostics')::text")[0].decode(String.self, at: 0)
            let seen = Self.runEvent(try await other.nextEvent(timeout: 10))
            #expect(seen?["id"] as? String == diagnostics, "noop's cancels never reach function=nightshift/diagnostics")
        }
    }

    @Test("twenty concurrent subscribers share ONE LISTEN connection")
    func oneListener() async throws {
        let service = try await Self.serviceToken()
        try await withStreamServer { port, owner, hub, _ in
            #expect(try await Self.listeners(owner) == 0, "no subscriber, no connection")
            var clients: [SSEClient] = []
            defer { for client in clients { client.close() } }
            for _ in 0..<20 { clients.append(try SSEClient(port: port, path: "/api/v1/stream", token: service)) }
            for client in clients { #expect(try await client.firstComment() == "connected") }
            #expect(await hub.subscriberCount == 20)
            #expect(try await Self.listeners(owner) == 1)

            let id = try await owner.query("select nightshift.trigger('nightshift/noop')::text")[0].decode(String.self, at: 0)
            for client in clients { #expect(Self.runEvent(try await client.nextEvent(timeout: 10))?["id"] as? String == id) }
            #expect(try await Self.listeners(owner) == 1)
        }
    }

    @Test("a user's token gets 403, no token 401, a bad run id 400: the JSON envelope before any stream byte")
    func refusals() async throws {
        let user = try await token(role: "authenticated", sub: Self.userID)
        let operatorToken = try await token(role: "authenticated", sub: Self.operatorID, appRole: "operator")
        let service = try await Self.serviceToken()
        try await withStreamServer { port, _, hub, client in
            let forbidden = try await client.get("/api/v1/stream", token: user)
            #expect(forbidden.status == .forbidden)
            #expect(forbidden.isEnvelope && forbidden.errorCode == "forbidden")
            let missing = try await client.get("/api/v1/stream")
            #expect(missing.status == .unauthorized && missing.isEnvelope)
            let bad = try await client.get("/api/v1/stream?run=not-a-uuid", token: service)
            #expect(bad.status == .badRequest && bad.errorCode == "bad_request")
            #expect(bad.errorMessage?.contains("run") == true)
            let unknown = try await client.get("/api/v1/stream?status=queued", token: service)
            #expect(unknown.status == .badRequest)
            #expect(await hub.subscriberCount == 0, "a refused caller never subscribed")

            // An operator reads the stream.
            let stream = try SSEClient(port: port, path: "/api/v1/stream", token: operatorToken)
            defer { stream.close() }
            #expect(try await stream.head()?.status == 200)
            #expect(try await stream.firstComment() == "connected")
        }
    }

    @Test("after the listener's connection is terminated the hub reconnects: resync, then events again")
    func reconnects() async throws {
        let service = try await Self.serviceToken()
        try await withStreamServer { port, owner, _, _ in
            let stream = try SSEClient(port: port, path: "/api/v1/stream", token: service)
            defer { stream.close() }
            #expect(try await stream.firstComment() == "connected")
            let killed = try await owner.query("""
                select count(pg_terminate_backend(pid))::int from pg_stat_activity
                where datname = current_database() and application_name = 'nightshift-stream'
                """)[0].decode(Int.self, at: 0)
            #expect(killed == 1)
            let resync = try await stream.nextEvent(timeout: 15)
            #expect(resync?.name == "resync")
            #expect(resync?.data == "{}")
            let id = try await owner.query("select nightshift.trigger('nightshift/noop')::text")[0].decode(String.self, at: 0)
            #expect(Self.runEvent(try await stream.nextEvent(timeout: 10))?["id"] as? String == id)
        }
    }

    @Test("a client back with Last-Event-ID (an EventSource reconnecting) is told to refetch: resync first, then events")
    func reconnectingClientResyncs() async throws {
        let service = try await Self.serviceToken()
        try await withStreamServer { port, owner, _, _ in
            let first = try SSEClient(port: port, path: "/api/v1/stream", token: service)
            #expect(try await first.firstComment() == "connected")
            let seen = try await owner.query("select nightshift.trigger('nightshift/noop')::text")[0].decode(String.self, at: 0)
            let event = try await first.nextEvent(timeout: 10)
            #expect(Self.runEvent(event)?["id"] as? String == seen)
            let lastID = try #require(event?.id)
            first.close()
            // Changed while no stream was open: nobody could have told the client.
            try await owner.execute("select nightshift.trigger('nightshift/noop')")

            let back = try SSEClient(port: port, path: "/api/v1/stream", token: service, lastEventID: lastID)
            defer { back.close() }
            #expect(try await back.firstComment() == "connected")
            let resync = try await back.nextEvent(timeout: 10)
            #expect(resync?.name == "resync", "the first event after connected, before any change")
            #expect(resync?.data == "{}")
            #expect(UInt64(resync?.id ?? "") ?? 0 >= UInt64(lastID) ?? .max, "numbered as the hub's latest, not behind the client's")
            let after = try await owner.query("select nightshift.trigger('nightshift/noop')::text")[0].decode(String.self, at: 0)
            let next = try await Self.event(about: after, on: back)
            #expect(Self.runEvent(next)?["id"] as? String == after)
            #expect(UInt64(next?.id ?? "") ?? 0 > UInt64(resync?.id ?? "") ?? .max, "the events after it number higher")

            // A first connection (no Last-Event-ID) starts with the changes, no resync.
            let fresh = try SSEClient(port: port, path: "/api/v1/stream", token: service)
            defer { fresh.close() }
            #expect(try await fresh.firstComment() == "connected")
            let changed = try await owner.query("select nightshift.trigger('nightshift/noop')::text")[0].decode(String.self, at: 0)
            let firstEvent = try await fresh.nextEvent(timeout: 10)
            #expect(firstEvent?.name == "run")
            let changedEvent = Self.runEvent(firstEvent)?["id"] as? String == changed ? firstEvent : try await Self.event(about: changed, on: fresh)
            #expect(Self.runEvent(changedEvent)?["id"] as? String == changed)
        }
    }

    @Test("a client that disconnects is removed, and the last one leaving closes the LISTEN connection")
    func disconnects() async throws {
        let service = try await Self.serviceToken()
        try await withStreamServer { port, owner, hub, _ in
            let stay = try SSEClient(port: port, path: "/api/v1/stream", token: service)
            defer { stay.close() }
            let leave = try SSEClient(port: port, path: "/api/v1/stream", token: service)
            #expect(try await stay.firstComment() == "connected")
            #expect(try await leave.firstComment() == "connected")
            #expect(await hub.subscriberCount == 2)
            leave.close()
            // The next ping's write fails and ends the stream.
            #expect(try await Self.eventually { await hub.subscriberCount == 1 })
            stay.close()
            #expect(try await Self.eventually { await hub.subscriberCount == 0 })
            #expect(try await Self.eventually { try await Self.listeners(owner) == 0 })
        }
    }

    @Test("a subscriber that falls bufferSize events behind is dropped, its stream finished; the others go on")
    func slowSubscriberDropped() async throws {
        try await TestDatabase.withMigratedDatabase { url async throws in
            let owner = PostgresPool(configuration: PostgresConfiguration(url: url), maxConnections: 1)
            try await FunctionRegistry(Builtins.all).sync(to: owner)
            let hub = RunEventHub(database: owner, bufferSize: 2)
            let slow = await hub.subscribe()
            let fast = await hub.subscribe()
            #expect(await hub.waitUntilListening(timeout: .seconds(10)))
            // The fast one reads each event before the next is made; the slow one reads nothing.
            var reader = fast.makeAsyncIterator()
            for _ in 0..<5 {
                try await owner.execute("select nightshift.trigger('nightshift/noop')")
                let event = await reader.next()
                #expect(event?.sequence != nil)
            }
            var kept = 0
            for await _ in slow { kept += 1 }
            #expect(kept == 2, "the two buffered events, then the end")
            #expect(try await Self.eventually { await hub.subscriberCount == 1 }, "the fast one stays")
            await hub.shutdown()
            await owner.close()
        }
    }

    @Test("payloads: the grouped form fans out per run; the compact form and garbage are a resync")
    func payloads() {
        let changes = RunEventHub.changes("""
            {"at": "2026-12-06T07:00:00.000001Z", "g": [["f/a", "running", null, ["A0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002"]], ["f/b", "running", "s\\"1", ["a0000000-0000-4000-8000-000000000003"]]]}
            """)
        #expect(changes?.count == 3)
        #expect(changes?.first?.json == #"{"id":"a0000000-0000-4000-8000-000000000001","function":"f/a","status":"running","step":null,"at":"2026-12-06T07:00:00.000001Z"}"#)
        #expect(changes?.last?.json == #"{"id":"a0000000-0000-4000-8000-000000000003","function":"f/b","status":"running","step":"s\"1","at":"2026-12-06T07:00:00.000001Z"}"#)
        #expect(RunEventHub.changes(#"{"at": "2026-12-06T07:00:00.000000Z", "n": 5000}"#) == nil)
        #expect(RunEventHub.changes("not json") == nil)
        #expect(RunEvent.resync(sequence: 7).serverSentEvent == "event: resync\nid: 7\ndata: {}\n\n")
    }
}

/// A streaming HTTP/1.1 reader over a raw loopback socket (URLSession does not stream on
/// Linux): sends one GET, then decodes the chunked body into Server-Sent Events, polling the
/// socket without blocking the test's thread.
final class SSEClient: @unchecked Sendable {
    struct Event: Sendable {
        var name: String
        var id: String?
        var data: String
    }

    struct Head: Sendable {
        var status: Int
        var headers: [String: String]
    }

    private let fd: Int32
    private var raw: [UInt8] = []
    private var body: [UInt8] = []
    private var parsedHead: Head?
    private var closed = false

    init(port: Int, path: String, token: String?, lastEventID: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        if let lastEventID { request += "Last-Event-ID: \(lastEventID)\r\n" }
        request += "\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
    }

    func close() {
        guard !closed else { return }
        closed = true
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }

    /// Reads what is available (waiting at most 20 ms); false at end of stream.
    private func pump() async -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) > 0 else {
            try? await Task.sleep(for: .milliseconds(20))
            return true
        }
        var chunk = [UInt8](repeating: 0, count: 16384)
        let count = recv(fd, &chunk, chunk.count, 0)
        guard count > 0 else { return false }
        raw += chunk[0..<count]
        decode()
        return true
    }

    /// Splits off the head, then de-chunks whatever complete chunks arrived.
    private func decode() {
        if parsedHead == nil {
            guard let end = find([13, 10, 13, 10], in: raw) else { return }
            let lines = String(decoding: raw[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
            let status = Int(lines[0].split(separator: " ")[1]) ?? 0
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            parsedHead = Head(status: status, headers: headers)
            raw.removeFirst(end + 4)
            if headers["transfer-encoding"] != "chunked" {
                body += raw
                raw = []
            }
        }
        guard parsedHead?.headers["transfer-encoding"] == "chunked" else {
            body += raw
            raw = []
            return
        }
        while let lineEnd = find([13, 10], in: raw) {
            let size = Int(String(decoding: raw[0..<lineEnd], as: UTF8.self).split(separator: ";")[0], radix: 16) ?? 0
            guard raw.count >= lineEnd + 2 + size + 2 else { return }
            body += raw[(lineEnd + 2)..<(lineEnd + 2 + size)]
            raw.removeFirst(lineEnd + 2 + size + 2)
        }
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where Array(haystack[start..<(start + needle.count)]) == needle {
            return start
        }
        return nil
    }

    func head(timeout: Double = 10) async throws -> Head? {
        let deadline = Date().addingTimeInterval(timeout)
        while parsedHead == nil, Date() < deadline, await pump() {}
        return parsedHead
    }

    /// The next block of the body (up to a blank line), or nil after `timeout` seconds.
    private func nextBlock(timeout: Double) async -> [String]? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let end = find([10, 10], in: body) {
                let block = String(decoding: body[0..<end], as: UTF8.self)
                body.removeFirst(end + 2)
                return block.components(separatedBy: "\n")
            }
            guard Date() < deadline, await pump() else { return nil }
        }
    }

    /// The first comment of the stream (`connected`).
    func firstComment(timeout: Double = 10) async throws -> String? {
        await nextComment(timeout: timeout)
    }

    /// The next comment line's text, skipping events.
    func nextComment(timeout: Double) async -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while let block = await nextBlock(timeout: max(0, deadline.timeIntervalSinceNow)) {
            if let line = block.first, line.hasPrefix(":") { return line.dropFirst().trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    /// The next event, skipping comments (`: ping`), or nil after `timeout` seconds.
    func nextEvent(timeout: Double) async throws -> Event? {
        let deadline = Date().addingTimeInterval(timeout)
        while let block = await nextBlock(timeout: max(0, deadline.timeIntervalSinceNow)) {
            var event = Event(name: "message", id: nil, data: "")
            var isEvent = false
            for line in block where !line.hasPrefix(":") {
                isEvent = true
                if line.hasPrefix("event: ") { event.name = String(line.dropFirst(7)) }
                if line.hasPrefix("id: ") { event.id = String(line.dropFirst(4)) }
                if line.hasPrefix("data: ") { event.data = String(line.dropFirst(6)) }
            }
            if isEvent { return event }
        }
        return nil
    }
}
