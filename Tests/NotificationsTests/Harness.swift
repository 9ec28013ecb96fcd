import Config
import Foundation
import Logging
import Notifications
import Postgres
import ServiceLifecycle
import TestSupport
import Testing

/// A migrated temporary database, a notifier on it, and a dispatcher to run while a test body runs.
struct Harness {
    let url: String
    let database: PostgresPool
    let notifier: Notifier

    static let logger: Logger = {
        var logger = Logger(label: "notifications-tests")
        logger.logLevel = .critical
        return logger
    }()

    init(url: String) {
        self.url = url
        database = PostgresPool(
            configuration: PostgresConfiguration(url: url, applicationName: "notifications-tests"), maxConnections: 4,
            acquireTimeout: .seconds(10))
        notifier = Notifier(database: database)
    }

    /// `[notifications]` with this cap and these channels (name -> webhook URL, name -> `whsec_`
    /// secret for the signed ones), read the way the binary reads its config file.
    static func settings(cap: Int = 10, _ webhooks: [String: String], secrets: [String: String] = [:]) throws -> NotificationSettings {
        var toml = """
            [auth]
            jwt_secret = "0123456789abcdef0123456789abcdef"
            anon_key = "a"
            service_role_key = "s"

            [notifications]
            daily_cap_per_user = \(cap)

            """
        for (name, url) in webhooks.sorted(by: { $0.key < $1.key }) {
            toml += "[notifications.channels.\"\(name)\"]\nwebhook_url = \"\(url)\"\n"
            if let secret = secrets[name] { toml += "webhook_secret = \"\(secret)\"\n" }
        }
        return try NightshiftConfig.parse(toml, source: "test").notifications
    }

    /// Runs a dispatcher (in a service group, with its own pool, like another process) while
    /// `body` runs, then shuts it down gracefully; a dispatcher that does not stop fails the test.
    func withDispatcher<T>(
        _ settings: NotificationSettings, pollInterval: Duration = .milliseconds(100), batchSize: Int = 64, maxInFlight: Int = 256,
        _ body: () async throws -> T
    ) async throws -> T {
        let pool = PostgresPool(
            configuration: PostgresConfiguration(url: url, applicationName: "dispatcher"), maxConnections: 4, acquireTimeout: .seconds(10))
        let dispatcher = DeliveryDispatcher(
            database: pool, settings: settings,
            options: DispatcherOptions(
                batchSize: batchSize, maxInFlight: maxInFlight, pollInterval: pollInterval, requestTimeout: .seconds(5)),
            logger: Self.logger)
        let group = ServiceGroup(configuration: .init(services: [dispatcher], logger: Self.logger))
        let running = Task { try await group.run() }
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        await group.triggerGracefulShutdown()
        try await running.value
        await pool.close()
        return try result.get()
    }

    /// One delivery's state.
    func delivery(notification: UUID, channel: String) async throws -> (status: String, attempts: Int, code: Int?, error: String?) {
        try await database.query("""
            select status, attempts, last_status_code, last_error from notify.deliveries
            where notification_id = \(notification) and channel = \(channel)
            """)[0].decode(String.self, Int.self, Int?.self, String?.self)
    }

    /// Polls until the delivery reaches `status`, failing the test after `timeout`.
    func wait(notification: UUID, channel: String, status: String, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await delivery(notification: notification, channel: channel).status == status { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        let now = try await delivery(notification: notification, channel: channel)
        Issue.record("the \(channel) delivery did not become \(status) within \(timeout); it is \(now.status) after \(now.attempts) attempts")
        throw WaitTimeout()
    }

    func count(_ query: PostgresQuery) async throws -> Int {
        try await database.query(query)[0].decode(Int.self, at: 0)
    }
}

struct WaitTimeout: Error {}

/// Runs `body` with a harness on a fresh migrated database.
func withNotifications<T>(_ body: (Harness) async throws -> T) async throws -> T {
    try await TestDatabase.withMigratedDatabase { url async throws in
        let harness = Harness(url: url)
        let result: Result<T, any Error>
        do { result = .success(try await body(harness)) } catch { result = .failure(error) }
        await harness.database.close()
        return try result.get()
    }
}
