import Foundation
import TestSupport
import Testing

@testable import Engine

/// Behind PgBouncer in transaction mode a worker's LISTEN session is not its own: NOTIFY does not
/// reach it, and it must say so and rely on polling. Its probe once came back by chance with the
/// answer to the listener's own first claim, run on the server session that had LISTENed, and the
/// worker kept silent (about half the starts).
@Suite("a worker behind a connection pooler", .timeLimit(.minutes(2)))
struct TransactionPoolerTests {
    static let warning = "NOTIFY does not reach this worker (a transaction pooler?): relying on polling"
    static let reaches = "NOTIFY reaches this worker"

    /// Runs a worker through `proxyURL` (or directly) until its probe decided, and returns its lines.
    func probeOutcome(_ engine: Harness, through proxyURL: String?) async throws -> [CapturedLines.Line] {
        let captured = CapturedLines()
        try await engine.withWorker(logger: captured.logger(level: .debug), through: proxyURL) {
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline, !captured.all.contains(where: { [Self.warning, Self.reaches].contains($0.message) }) {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        return captured.all
    }

    @Test("in transaction mode it warns at every start, and still runs what is queued by polling")
    func warnsInTransactionMode() async throws {
        let noop = NightshiftFunction(id: "test/pooled", payload: NoPayload.self) { _, _ in NoPayload() }
        try await withEngine([noop]) { engine in
            try await PgBouncer.with(upstream: engine.url, mode: .transaction) { bouncer in
                for start in 1...4 {
                    let lines = try await probeOutcome(engine, through: bouncer)
                    #expect(lines.contains { $0.level == .warning && $0.message == Self.warning }, "start \(start)")
                    #expect(!lines.contains { $0.message == Self.reaches }, "start \(start)")
                }
                let id = try await engine.client.trigger("test/pooled")
                try await engine.withWorker(through: bouncer) {
                    try await engine.wait(for: id, status: "completed")
                }
            }
        }
    }

    @Test("connected directly or through a session pooler, NOTIFY reaches it and it does not warn")
    func quietWhenNotifyArrives() async throws {
        try await withEngine([]) { engine in
            let direct = try await probeOutcome(engine, through: nil)
            #expect(direct.contains { $0.message == Self.reaches })
            #expect(!direct.contains { $0.message == Self.warning })
            try await PgBouncer.with(upstream: engine.url, mode: .session) { bouncer in
                let session = try await probeOutcome(engine, through: bouncer)
                #expect(session.contains { $0.message == Self.reaches })
                #expect(!session.contains { $0.message == Self.warning })
            }
        }
    }
}
