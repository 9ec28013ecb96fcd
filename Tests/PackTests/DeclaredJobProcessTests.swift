import Foundation
import Postgres
import TestSupport
import Testing

/// Jobs without Swift, end to end through the binary: a `nightshift worker` child process runs
/// a config-declared SQL job on a '1 seconds' schedule and a function defined from SQL, and a
/// failing job of each kind alerts its on_failure channel (a loopback webhook) exactly once.
@Suite("declared jobs through the binary", .serialized)
struct DeclaredJobProcessTests {
    /// The committed config, its `ops` channel posting to `webhook`, plus two declared jobs.
    static func configFile(webhook: String, jobs: String? = nil) throws -> String {
        let committed = TestDatabase.projectRoot.appendingPathComponent("supabase-like-config/config.toml")
        var text = try String(contentsOf: committed, encoding: .utf8)
        text = text.replacingOccurrences(of: "http://127.0.0.1:54330/hooks/ops", with: webhook)
        text += jobs ?? """

            [functions."ops/every-second"]
            cron = "1 seconds"
            sql = "select 1"

            [functions."ops/broken"]
            sql = "select 1 / 0"
            retries = 0
            on_failure = "ops"

            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nightshift-declared-\(UUID().uuidString.prefix(8)).toml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a worker process runs a config-declared cron job and a SQL-defined one; each failure alerts the channel once")
    func endToEnd() async throws {
        let key = UUID().uuidString
        let config = try Self.configFile(webhook: try await JobReceiver.url(key: key))
        defer { try? FileManager.default.removeItem(atPath: config) }
        try await TestDatabase.withMigratedDatabase { url async throws in
            let database = PostgresPool(configuration: PostgresConfiguration(url: url, applicationName: "declared-process-tests"), maxConnections: 2)
            defer { Task { await database.close() } }
            func count(_ query: PostgresQuery) async throws -> Int { try await database.query(query)[0].decode(Int.self, at: 0) }
            func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
                let deadline = ContinuousClock.now + timeout
                while try await !condition() {
                    guard ContinuousClock.now < deadline else { throw CLIWaitError(what: what) }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }

            let worker = try WorkerProcess(databaseURL: url, name: "declared", config: config)
            defer { worker.stop() }
            // Started: its sync recorded the config's jobs and its notify.configure the channel.
            try await waitUntil("the worker's start-up") {
                let synced = try await count("select count(*) from nightshift.functions where id = 'ops/broken' and on_failure = 'ops'")
                let configured = try await count("select count(*) from notify.channels where name = 'ops' and enabled")
                return synced == 1 && configured == 1
            }

            // From a SQL console: one function that works, one that fails, alerting ops.
            _ = try await database.query("""
                select nightshift.define_function('ops/defined', 'sql', '"select 2"', retries => 0)
                """)
            _ = try await database.query("""
                select nightshift.define_function('ops/defined-broken', 'sql', '"select * from public.no_such_table"',
                                                  retries => 0, on_failure => 'ops')
                """)
            let defined = try await database.query("select nightshift.trigger('ops/defined')")[0].decode(UUID.self, at: 0)
            let definedBroken = try await database.query("select nightshift.trigger('ops/defined-broken')")[0].decode(UUID.self, at: 0)
            let broken = try await database.query("select nightshift.trigger('ops/broken')")[0].decode(UUID.self, at: 0)

            try await waitUntil("the cron job's first completed run") {
                try await count("""
                    select count(*) from nightshift.runs
                    where function_id = 'ops/every-second' and trigger_kind = 'cron' and status = 'completed'
                    """) >= 1
            }
            try await waitUntil("the runs triggered from SQL") {
                try await count("""
                    select count(*) from nightshift.runs
                    where (id = \(defined) and status = 'completed') or (id in (\(broken), \(definedBroken)) and status = 'failed')
                    """) == 3
            }
            try await waitUntil("two deliveries") { await JobReceiver.requests(key).count >= 2 }
            // Long enough for a second delivery of either to arrive, were there one.
            try await Task.sleep(for: .seconds(2))
            let requests = await JobReceiver.requests(key)
            #expect(requests.count == 2, "\(requests.map(\.body))\n\(worker.output)")
            #expect(requests.filter { $0.body.contains(broken.uuidString.lowercased()) }.count == 1)
            #expect(requests.filter { $0.body.contains(definedBroken.uuidString.lowercased()) }.count == 1)
            let alert = try #require(requests.first { $0.body.contains(definedBroken.uuidString.lowercased()) })
            let payload = try #require(try JSONSerialization.jsonObject(with: Data(alert.body.utf8)) as? [String: Any])
            let metadata = try #require(payload["metadata"] as? [String: Any])
            #expect(metadata["function_id"] as? String == "ops/defined-broken")
            #expect(metadata["attempts"] as? Int == 1)
            #expect(metadata["sqlstate"] as? String == "42P01", "\(metadata)")
            #expect(metadata["failed_at"] is String)
            #expect(try await count("select count(*) from notify.deliveries where channel = 'ops' and status = 'delivered'") == 2)
            #expect(try await count("select count(*) from nightshift.runs where id = \(defined) and output = '{\"rows\": 1}'") == 1)
        }
    }

    @Test("a worker killed -9 mid-run, again and again: the run is quarantined by lease expiry, and the channel alerted once")
    func killedWorkerAlerts() async throws {
        let key = UUID().uuidString
        let config = try Self.configFile(webhook: try await JobReceiver.url(key: key), jobs: """

            [functions."ops/hangs"]
            sql = "select pg_sleep(20)"
            retries = 0
            on_failure = "ops"

            """)
        defer { try? FileManager.default.removeItem(atPath: config) }
        try await TestDatabase.withMigratedDatabase { url async throws in
            let database = PostgresPool(configuration: PostgresConfiguration(url: url, applicationName: "declared-process-tests"), maxConnections: 2)
            defer { Task { await database.close() } }
            func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
                let deadline = ContinuousClock.now + timeout
                while try await !condition() {
                    guard ContinuousClock.now < deadline else { throw CLIWaitError(what: what) }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            func status() async throws -> (String, String?) {
                try await database.query("select status, lease_owner from nightshift.runs where function_id = 'ops/hangs'")[0]
                    .decode(String.self, String?.self)
            }

            // crash_limit is 3: killed three times without progress, the fourth claim quarantines it.
            var owners: Set<String> = []
            for round in 1...3 {
                let worker = try WorkerProcess(databaseURL: url, name: "killed-\(round)", leaseSeconds: 2, config: config)
                if round == 1 {
                    try await waitUntil("the worker's sync") {
                        try await database.query("select count(*) from nightshift.functions where id = 'ops/hangs'")[0].decode(Int.self, at: 0) == 1
                    }
                    _ = try await database.query("select nightshift.trigger('ops/hangs')")
                }
                // Running in this worker (not a lease left over from the one killed before).
                try await waitUntil("round \(round): the run running in a new worker") {
                    let (state, owner) = try await status()
                    return state == "running" && owner.map { !owners.contains($0) } == true
                }
                owners.insert(try await status().1!)
                worker.kill()
            }
            let last = try WorkerProcess(databaseURL: url, name: "survivor", leaseSeconds: 2, config: config)
            defer { last.stop() }
            try await waitUntil("the quarantine") { try await status().0 == "failed" }
            try await waitUntil("the alert") { await JobReceiver.requests(key).count >= 1 }
            try await Task.sleep(for: .seconds(2))
            let requests = await JobReceiver.requests(key)
            #expect(requests.count == 1, "\(requests.map(\.body))\n\(last.output)")
            let payload = try #require(try JSONSerialization.jsonObject(with: Data((requests.first?.body ?? "{}").utf8)) as? [String: Any])
            let metadata = try #require(payload["metadata"] as? [String: Any])
            #expect(metadata["function_id"] as? String == "ops/hangs")
            #expect((metadata["error"] as? [String: Any])?["outcome"] as? String == "quarantined", "\(metadata)")
            #expect(try await database.query("""
                select count(*) from nightshift.run_attempts a join nightshift.runs r on r.id = a.run_id
                where r.function_id = 'ops/hangs' and a.outcome = 'crashed'
                """)[0].decode(Int.self, at: 0) == 3)
        }
    }
}

struct CLIWaitError: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}
