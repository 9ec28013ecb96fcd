import Foundation
import Notifications
import Postgres
import Testing

@Suite("the daily cap under concurrency")
struct CapConcurrencyTests {
    @Test("8 connections × 5 sends at once for one user with a cap of 10: exactly 10 sent, 30 suppressed")
    func capHoldsUnderConcurrency() async throws {
        try await withNotifications { harness in
            try await harness.notifier.configure(from: try Harness.settings(cap: 10, [:]))
            let user = UUID()
            // A pool of one connection per task: eight separate sessions, all connected before the start.
            let pools = (0..<8).map { n in
                PostgresPool(configuration: PostgresConfiguration(url: harness.url, applicationName: "sender-\(n)"), maxConnections: 1)
            }
            for pool in pools { try await pool.query("select 1") }
            let start = ContinuousClock.now + .milliseconds(200)

            let outcomes = try await withThrowingTaskGroup(of: [SendOutcome].self) { group in
                for pool in pools {
                    group.addTask {
                        let notifier = Notifier(database: pool)
                        try await Task.sleep(until: start)  // all eight start together
                        var outcomes: [SendOutcome] = []
                        for n in 0..<5 {
                            outcomes.append(try await notifier.send(to: user, title: "n\(n)", message: "m"))
                        }
                        return outcomes
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            for pool in pools { await pool.close() }

            #expect(outcomes.count == 40)
            #expect(outcomes.filter { $0.name == "sent" }.count == 10)
            #expect(outcomes.filter { $0 == .suppressed }.count == 30)
            #expect(try await harness.count("select count(*) from notify.notifications where user_id = \(user)") == 10)
            #expect(try await harness.count("select count(*) from notify.suppressed where user_id = \(user)") == 30)
            let counts = try await harness.database.query(
                "select sent, suppressed from notify.daily_counts where user_id = \(user)")[0].decode(Int.self, Int.self)
            #expect(counts == (10, 30))
        }
    }
}
