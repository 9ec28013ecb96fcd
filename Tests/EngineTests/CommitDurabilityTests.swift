import Foundation
import Postgres
import Testing

@testable import Engine

@Suite("bookkeeping commits")
struct CommitDurabilityTests {
    @Test("an asynchronous bookkeeping commit applies to its own statement only, never to the connection's next one")
    func asynchronousCommitDoesNotLeak() async throws {
        try await withEngine([]) { engine in
            // One connection, so the second statement runs on the session the first one changed.
            try await engine.database.withConnection { connection in
                let during = try await connection.query(
                    "select current_setting('synchronous_commit')\(unescaped: CommitDurability.asynchronous.selectSuffix)")
                #expect(try during[0].decode(String.self, at: 1) == "off")
                let after = try await connection.query("select current_setting('synchronous_commit')")
                #expect(try after[0].decode(String.self, at: 0) == "on")
            }
            #expect(CommitDurability.synchronous.selectSuffix.isEmpty)
        }
    }

    @Test("runs complete with synchronous and asynchronous bookkeeping alike, each step checkpointed once")
    func bothModesCheckpoint() async throws {
        let function = NightshiftFunction(id: "test/three-steps", payload: NoPayload.self) { _, context in
            for index in 1...3 { try await context.step.run("s\(index)") { index } }
            return NoPayload()
        }
        for mode in [CommitDurability.asynchronous, .synchronous] {
            try await withEngine([function]) { engine in
                let id = try await engine.client.trigger("test/three-steps")
                _ = try await engine.withWorker(bookkeepingCommits: mode) {
                    try await engine.wait(for: id, status: "completed")
                }
                #expect(try await engine.count("select count(*) from nightshift.steps where run_id = \(id)") == 3)
            }
        }
    }
}
