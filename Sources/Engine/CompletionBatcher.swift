import Foundation
import Postgres

/// Group commit for finished runs: completions that arrive while a batch is being written
/// go into the next one, so under load hundreds of runs complete in one statement, and a
/// lone completion is written at once.
actor CompletionBatcher {
    private struct Item {
        let id: UUID
        let token: Int64
        let output: String
        let done: CheckedContinuation<Void, any Error>
    }

    private let database: PostgresPool
    private var pending: [Item] = []
    private var flushing = false

    init(database: PostgresPool) {
        self.database = database
    }

    /// Returns once the completion is committed; stale leases are skipped by the database.
    func complete(id: UUID, token: Int64, output: String) async throws {
        try await withCheckedThrowingContinuation { continuation in
            pending.append(Item(id: id, token: token, output: output, done: continuation))
            if !flushing {
                flushing = true
                Task { await self.flush() }
            }
        }
    }

    private func flush() async {
        while !pending.isEmpty {
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            do {
                try await database.execute(.prepared("""
                    select nightshift.complete_runs(\(batch.map(\.id)), \(batch.map { Int($0.token) }), \(batch.map(\.output))::jsonb[])
                    """))
                for item in batch { item.done.resume() }
            } catch {
                for item in batch { item.done.resume(throwing: error) }
            }
        }
        flushing = false
    }
}
