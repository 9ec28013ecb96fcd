import Foundation
import Synchronization

/// The runs this worker is executing, with their lease tokens, for the heartbeat; the ones
/// whose lease the database says is gone, so their next step stops early; and the slots taken by
/// claims still on their way, so the claim loop and the listener together never exceed the
/// worker's concurrency.
final class InFlightRuns: Sendable {
    private struct State {
        var running: [UUID: Int64] = [:]
        var lost: Set<UUID> = []
        var reserved = 0
    }

    private let state = Mutex(State())

    var count: Int { state.withLock { $0.running.count } }

    /// Takes up to `wanted` of the slots `concurrency` leaves free (running runs and reservations
    /// count), for a claim about to be made; returns how many it took.
    func reserve(upTo wanted: Int, of concurrency: Int) -> Int {
        state.withLock { state in
            let taken = max(0, min(wanted, concurrency - state.running.count - state.reserved))
            state.reserved += taken
            return taken
        }
    }

    /// A reserved slot becomes the run `id`'s.
    func admit(_ id: UUID, token: Int64) {
        state.withLock { state in
            state.running[id] = token
            state.reserved -= 1
        }
    }

    /// Gives back reserved slots a claim did not fill.
    func unreserve(_ count: Int) {
        guard count > 0 else { return }
        state.withLock { $0.reserved -= count }
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
