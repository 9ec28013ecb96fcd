import Foundation
import Synchronization

/// The runs this worker is executing, with their lease tokens, for the heartbeat; and the ones
/// whose lease the database says is gone, so their next step stops early.
final class InFlightRuns: Sendable {
    private let state = Mutex<(running: [UUID: Int64], lost: Set<UUID>)>(([:], []))

    var count: Int { state.withLock { $0.running.count } }

    func add(_ id: UUID, token: Int64) {
        state.withLock { $0.running[id] = token }
    }

    func remove(_ id: UUID) {
        state.withLock {
            $0.running[id] = nil
            $0.lost.remove(id)
        }
    }

    func snapshot() -> [(id: UUID, token: Int64)] {
        state.withLock { $0.running.map { ($0.key, $0.value) } }
    }

    func markLost(_ ids: some Sequence<UUID>) {
        state.withLock { $0.lost.formUnion(ids) }
    }

    func isLost(_ id: UUID) -> Bool {
        state.withLock { $0.lost.contains(id) }
    }
}
