import Config
import EdgeFunctions
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Logging
import Postgres
import Server
import ServiceLifecycle
import Testing
import TestSupport

/// Issue 12 §3: what the server refuses so that it is safe to expose.
@Suite("safe to expose: development secrets, timeouts, header limits, write rate limits", .serialized)
struct HardeningTests {
    static let committed = TestDatabase.projectRoot.appendingPathComponent("supabase-like-config/config.toml").path

    @Test("the committed development secrets are refused beyond loopback, naming each key and its variable; fine on loopback")
    func developmentSecrets() async throws {
        var config = try NightshiftConfig.load(path: Self.committed, environment: [:], sections: RepositoryPacks.sections)
        let pool = PostgresPool(configuration: PostgresConfiguration(url: TestDatabase.url), maxConnections: 1)
        defer { Task { await pool.close() } }
        config.api.host = "0.0.0.0"
        do {
            _ = try await NightshiftServer.makeApplication(config: config, database: pool, functions: RepositoryPacks.edgeFunctions + [Open()], routes: RepositoryPacks.routes, logger: Logger(label: "t"))
            Issue.record("the development secrets were served on 0.0.0.0")
        } catch let error as ConfigError {
            let text = "\(error)"
            for name in ["auth.jwt_secret", "NIGHTSHIFT_JWT_SECRET", "auth.anon_key", "NIGHTSHIFT_ANON_KEY",
                         "auth.service_role_key", "NIGHTSHIFT_SERVICE_ROLE_KEY", "notifications.channels.ops.webhook_secret",
                         "nightshift keys generate"] {
                #expect(text.contains(name), "the refusal names \(name): \(text)")
            }
            #expect(!text.contains(config.auth.jwtSecret), "the refusal never repeats a secret")
        }

        config.api.host = "127.0.0.1"
        _ = try await NightshiftServer.makeApplication(config: config, database: pool, functions: RepositoryPacks.edgeFunctions + [Open()], routes: RepositoryPacks.routes, logger: Logger(label: "t"))

        let fresh = try await ProjectKeys.generate(projectID: "hardening")
        config.api.host = "0.0.0.0"
        config.auth.jwtSecret = fresh.jwtSecret
        config.auth.anonKey = fresh.anonKey
        config.auth.serviceRoleKey = fresh.serviceRoleKey
        config.notifications.channels = [:]
        _ = try await NightshiftServer.makeApplication(config: config, database: pool, functions: RepositoryPacks.edgeFunctions + [Open()], routes: RepositoryPacks.routes, logger: Logger(label: "t"))
    }

    @Test("a request past request_timeout is answered 503 and its database statement is cancelled")
    func requestTimeout() async throws {
        var config = try await testConfig()
        config.api.requestTimeout = .milliseconds(500)
        let user = try await token(role: "authenticated", sub: "00000000-0000-4000-8000-0000000000e1")
        // A database of its own: other suites sleep in the shared one at the same time.
        try await TestDatabase.withTemporaryDatabase { url in
        try await withServer(databaseURL: url, config: config) { client in
            let started = ContinuousClock.now
            let reply = try await client.post("/functions/v1/slow", token: user, body: #"{"seconds": 30}"#)
            #expect(reply.status == .serviceUnavailable)
            #expect(reply.errorCode == "timeout" && reply.isEnvelope)
            // Far below the 30 s it asked for; the margin is for a loaded machine's first connections.
            #expect(ContinuousClock.now - started < .seconds(15))
            let fast = try await client.post("/functions/v1/slow", token: user, body: #"{"seconds": 0.01}"#)
            #expect(fast.status == .ok, "a request within the limit is untouched")
        }
        let observer = try await PostgresConnection.connect(url: url)
        let sleeping = try await observer.query(
            "select count(*)::int from pg_stat_activity where datname = current_database() and state = 'active' and pid <> pg_backend_pid()"
        )[0].decode(Int.self, at: 0)
        await observer.close()
        #expect(sleeping == 0, "the timed-out statement was cancelled, not left running")
        }
    }

    @Test("writes past writes_per_minute: 429 with Retry-After, per caller; reads are not counted")
    func writeRateLimit() async throws {
        var config = try await testConfig()
        config.api.writesPerMinute = 2
        let first = try await token(role: "authenticated", sub: "00000000-0000-4000-8000-0000000000f1")
        let second = try await token(role: "authenticated", sub: "00000000-0000-4000-8000-0000000000f2")
        try await withServer(config: config) { client in
            let body = #"{"notificationId": "00000000-0000-4000-8000-000000000000"}"#
            for _ in 0..<2 {
                #expect(try await client.post("/functions/v1/mark-notification-read", token: first, body: body).status == .notFound)
            }
            let limited = try await client.execute(
                uri: "/functions/v1/mark-notification-read", method: .post,
                headers: [.authorization: "Bearer \(first)", .contentType: "application/json"], body: ByteBuffer(string: body)
            ) { (try Reply($0), $0.headers[.retryAfter]) }
            #expect(limited.0.status == .tooManyRequests)
            #expect(limited.0.errorCode == "rate_limited")
            #expect(Int(limited.1 ?? "") ?? 0 >= 1, "Retry-After in whole seconds")
            #expect(try await client.post("/functions/v1/mark-notification-read", token: second, body: body).status == .notFound,
                    "another caller has their own allowance")
            #expect(try await client.post("/functions/v1/notifications", token: first, body: "{}").status == .ok, "a read is not a write")
        }
    }

    @Test("an oversized header block is refused and an idle connection is closed, before any handler runs")
    func connectionLimits() async throws {
        var config = try await testConfig()
        config.api.host = "127.0.0.1"
        config.api.port = try freeLoopbackPort()
        config.api.maxHeaderBytes = 2048
        config.api.idleTimeout = .milliseconds(500)
        let pool = PostgresPool(configuration: PostgresConfiguration(url: TestDatabase.appURL(TestDatabase.url)), maxConnections: 1)
        let app = try await NightshiftServer.makeApplication(config: config, database: pool, functions: RepositoryPacks.edgeFunctions + [Open()], routes: RepositoryPacks.routes, logger: Logger(label: "t"))
        let running = Task { try await app.runService() }
        defer { running.cancel() }
        let port = config.api.port
        try await waitForListener(port: port)

        let small = try RawHTTP.exchange(port: port, request: "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(small.hasPrefix("HTTP/1.1 200"))
        let padding = String(repeating: "a", count: 4096)
        let large = try RawHTTP.exchange(port: port, request: "GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: \(padding)\r\nConnection: close\r\n\r\n")
        #expect(!large.hasPrefix("HTTP/1.1 200"), "a 4 KiB header past a 2 KiB limit is not served: \(large.prefix(80))")

        let idle = try RawHTTP.secondsUntilClosed(port: port, limit: 5)
        #expect(idle < 3, "an idle connection is closed after about 0.5 s, took \(idle) s")
        await pool.close()
    }

    private func waitForListener(port: Int) async throws {
        for _ in 0..<100 {
            if (try? RawHTTP.exchange(port: port, request: "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) != nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw POSIXError(.ECONNREFUSED)
    }
}

/// Plain sockets, for what an HTTP client library would not send or would hide.
enum RawHTTP {
    static func connect(port: Int) throws -> Int32 {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socket)
            throw POSIXError(.ECONNREFUSED)
        }
        return socket
    }

    /// Sends `request` and reads until the server closes (or 5 s pass).
    static func exchange(port: Int, request: String) throws -> String {
        let socket = try connect(port: port)
        defer { close(socket) }
        _ = request.withCString { send(socket, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var answer = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    /// Opens a connection, sends nothing, and measures how long until the server closes it.
    static func secondsUntilClosed(port: Int, limit: Int) throws -> Double {
        let socket = try connect(port: port)
        defer { close(socket) }
        let started = Date()
        var byte: UInt8 = 0
        while Date().timeIntervalSince(started) < Double(limit) {
            if recv(socket, &byte, 1, 0) <= 0 { break }
        }
        return Date().timeIntervalSince(started)
    }
}
