import Foundation
import TestSupport
import Testing

@testable import Engine

/// A worker started before its database answers (a compose file, a host booting) waits for it
/// instead of exiting; a login the server rejects still ends start-up at once.
@Suite("start-up waits for the database", .serialized)
struct StartupWaitTests {
    /// `url` pointing at `port` on loopback, where nothing listens unless the test starts it.
    static func url(_ url: String, port: Int) throws -> String {
        var components = try #require(URLComponents(string: url))
        components.host = "127.0.0.1"
        components.port = port
        return try #require(components.string)
    }

    @Test("a worker started before its database is reachable logs each try, then connects and runs what was queued")
    func waitsThenRuns() async throws {
        try await withEngine(Builtins.all) { engine in
            let id = try await engine.client.trigger("nightshift/noop")
            let port = try freeLoopbackPort()
            let worker = try WorkerProcess(databaseURL: try Self.url(engine.url, port: port), name: "early", ticker: false)
            defer { worker.stop() }
            // Two failed tries: it is retrying, not stuck in its first connect.
            try await wait(until: { worker.output.components(separatedBy: "database not reachable yet").count > 2 }, timeout: .seconds(20))
            #expect(worker.process.isRunning, "still waiting: \(worker.output)")
            #expect(worker.output.contains("Connection refused"), "each try logs why it failed")

            // The database comes up where the worker looks for it: PgBouncer on that port.
            let bouncer = try await PgBouncer(upstream: engine.url, mode: .session, port: port)
            defer { bouncer.stop() }
            let run = try await engine.wait(for: id, status: "completed", timeout: .seconds(30))
            #expect(run.attempt == 1)
            #expect(worker.output.contains("database reachable"), "\(worker.output)")
        }
    }

    @Test("--wait-for-database bounds the wait: exit status 1, naming the limit, the tries and the last error")
    func givesUpAtTheLimit() async throws {
        let port = try freeLoopbackPort()
        let started = ContinuousClock.now
        let worker = try WorkerProcess(
            databaseURL: try Self.url(TestDatabase.url, port: port), name: "gives-up", arguments: ["--wait-for-database", "2"])
        try await wait(until: { !worker.process.isRunning }, timeout: .seconds(15))
        let elapsed = ContinuousClock.now - started
        #expect(worker.process.terminationStatus == 1)
        #expect(elapsed >= .seconds(2), "it waited its 2 s")
        let output = worker.output
        #expect(output.contains("the database did not answer within --wait-for-database 2 s ("), "\(output)")
        #expect(output.contains("port \(port) failed: Connection refused"), "\(output)")
        #expect(output.components(separatedBy: "database not reachable yet").count >= 4, "retried with backoff: \(output)")
    }

    @Test("a login the server rejects (an unknown role) fails at once, without waiting")
    func rejectedLoginFailsAtOnce() async throws {
        var components = try #require(URLComponents(string: TestDatabase.url))
        components.user = "no_such_role_\(UUID().uuidString.prefix(6).lowercased())"
        let started = ContinuousClock.now
        let worker = try WorkerProcess(
            databaseURL: TestDatabase.url, name: "rejected", environment: ["DATABASE_URL": try #require(components.string)])
        try await wait(until: { !worker.process.isRunning }, timeout: .seconds(15))
        #expect(ContinuousClock.now - started < .seconds(10), "the default 60 s wait was not used")
        #expect(worker.process.terminationStatus == 1)
        #expect(worker.output.contains("role \"\(components.user!)\" does not exist"), "\(worker.output)")
        #expect(!worker.output.contains("database not reachable yet"), "\(worker.output)")
    }
}
