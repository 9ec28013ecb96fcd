import Config
import Engine
import Foundation
import HTTPClient
import JWTKit
import Logging
import PortfolioPack
import PortfolioProviderStub
import Postgres
import Server
import Synchronization
import Testing
import TestSupport

/// A migrated database with the portfolio seed loaded, the provider stub on loopback, and the
/// pack's jobs synced to a registry pointed at the stub.
struct PortfolioFixture {
    let pack: PackHarness
    let stub: ProviderStub
    let registry: FunctionRegistry
    let users: [UUID]

    /// `users` investors over `assets` assets; `marketsPerUser` 0 scores holdings only.
    static func with<T>(
        users count: Int, assets: Int = 60, marketsPerUser: Int = 1, _ body: (PortfolioFixture) async throws -> T
    ) async throws -> T {
        let stub = try await ProviderStub.start()
        do {
            let result = try await TestDatabase.withMigratedDatabase { url async throws in
                var config = try PackHarness.config(schedulesEnabled: false)
                var portfolio = config.section(PortfolioSettings.self)
                portfolio.ratesURL = stub.baseURL
                portfolio.pricesURL = stub.baseURL
                portfolio.usersPerBatch = 2
                config.setSection(portfolio)
                let pack = PackHarness(url: url, config: config)
                do {
                    let script = try String(
                        contentsOf: TestDatabase.projectRoot.appendingPathComponent("sql/seed/portfolio_seed.sql"), encoding: .utf8)
                    try await pack.database.withConnection { connection in try await connection.executeScript(script) }
                    try await pack.database.execute(
                        "select portfolio.seed(\(count)::int, \(assets)::int, 10::int, 20::int, \(marketsPerUser)::int)")
                    let users = try await pack.database.query("select id from portfolio.users order by id").map { try $0.decode(UUID.self, at: 0) }
                    let registry = try await pack.registry(pack.functions(PortfolioPack()))
                    let result = try await body(PortfolioFixture(pack: pack, stub: stub, registry: registry, users: users))
                    await pack.close()
                    return result
                } catch {
                    await pack.close()
                    throw error
                }
            }
            await stub.stop()
            return result
        } catch {
            await stub.stop()
            throw error
        }
    }

    /// Runs the overnight scoring to its end (and the cache warmer it triggers) with a worker.
    @discardableResult
    func runOvernight(
        payload: String = "{}", expect status: String = "completed", logger: Logger = PackHarness.logger
    ) async throws -> RunRecord {
        try await pack.withWorker(registry, logger: logger) {
            let id = try await pack.trigger("portfolio/overnight-scoring", payload: payload)
            let run = try await pack.wait(for: id, status: status, timeout: .seconds(120))
            try await waitForWarmer()
            return run
        }
    }

    /// Waits until every cache-warmer run the scoring events started has completed.
    func waitForWarmer() async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let pending = try await pack.count("""
                select (select count(*) from nightshift.events where name = 'portfolio/scoring.completed')
                     - (select count(*) from nightshift.runs where function_id = 'portfolio/cache-warmer' and status = 'completed')
                """)
            if pending <= 0 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the cache warmer did not finish within 30 s")
    }

    /// The newest overnight_job_runs row: id, correlation id, status, processed, failed, metrics.
    func lastJobRun() async throws -> (id: UUID, correlationID: UUID, status: String, processed: Int, failed: Int, metrics: JSONValue) {
        let row = try await pack.database.query("""
            select id, correlation_id, status, users_processed, users_failed, metrics::text
            from portfolio.overnight_job_runs order by started_at desc limit 1
            """)[0]
        return (
            try row.decode(UUID.self, at: 0), try row.decode(UUID.self, at: 1), try row.decode(String.self, at: 2),
            try row.decode(Int.self, at: 3), try row.decode(Int.self, at: 4), try JSONValue(json: try row.decode(String.self, at: 5)))
    }

    /// A token for `user` signed with the project's secret, as the platform's auth would issue it.
    func token(role: String = "authenticated", user: UUID?) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: pack.config.auth.jwtSecret), digestAlgorithm: .sha256)
        return try await keys.sign(AuthClaims(
            role: role, sub: user?.uuidString.lowercased(), exp: ExpirationClaim(value: Date().addingTimeInterval(600)), appRole: nil))
    }

    /// GET or POST on the test server; the status and the body parsed as the envelope's JSON.
    func request(_ path: String, method: String = "GET", token: String?, body: String? = nil) async throws -> (status: Int, json: JSONValue) {
        var headers: HTTPHeaders = body == nil ? [:] : ["Content-Type": "application/json"]
        if let token { headers.add("Authorization", "Bearer \(token)") }
        var request = HTTPRequest(
            method: method == "POST" ? .post : .get, url: "http://127.0.0.1:\(pack.config.api.port)\(path)",
            headers: headers, body: Array((body ?? "").utf8))
        request.throwOnErrorStatus = false
        let response = try await pack.http.execute(request)
        return (response.status, try JSONValue(json: response.text))
    }
}

extension JSONValue {
    subscript(_ key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var array: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}

/// Every line logged through it, with its metadata, for tests that read what a run logged.
final class LogCapture: Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let lines = Mutex<[Line]>([])

    /// A logger (info and up) whose lines land here.
    var logger: Logger {
        var logger = Logger(label: "capture") { _ in Handler(capture: self) }
        logger.logLevel = .info
        return logger
    }

    var all: [Line] { lines.withLock { $0 } }

    func append(_ line: Line) { lines.withLock { $0.append(line) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(
            level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
            file: String, function: String, line: UInt
        ) {
            let merged = metadata.merging(explicit ?? [:]) { $1 }
            capture.append(Line(level: level, message: "\(message)", metadata: merged.mapValues { "\($0)" }))
        }
    }
}
