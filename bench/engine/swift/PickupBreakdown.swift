import Engine
import Foundation
import Synchronization

/// Splits each pickup of the latency workload into its parts, from the worker's moments
/// (``PickupMoment``) and the run's own timestamps, all on the host's wall clock:
///   commit+notify  runs.created_at (the trigger statement's start) → NOTIFY on the listener's thread
///   wake           that → the claim loop awake (0 when the listener claimed, on its own thread)
///   to backend     that → the claim statement's start in its backend (runs.started_at): pool, send, backend wake
///   claim          that → the claimed runs back in the claim loop (or the listener's thread)
///   hand-off       that → the function's body running (from the listener: through the claim loop)
final class PickupBreakdown: Sendable {
    private let moments = Mutex<[(PickupMoment, Date)]>([])

    var observer: PickupObserver {
        { moment, at in self.moments.withLock { $0.append((moment, at)) } }
    }

    struct Pickup {
        let parts: [Double]  // ms, in `names` order
        /// runs.created_at → the trigger call back in the client: the statement, its commit, the reply.
        let triggerCall: Double
        /// runs.created_at, to find a slow pickup in the server's log.
        let created: Date
        var total: Double { parts.reduce(0, +) }
    }
    static let names = ["commit+notify", "wake", "to backend", "claim", "hand-off"]

    /// One pickup per run that has all its moments. `runs`: id → (created, claim started, body started).
    func pickups(runs: [UUID: (created: Date, returned: Date, started: Date, body: Date)]) -> [Pickup] {
        let recorded = moments.withLock { $0 }.sorted { $0.1 < $1.1 }
        var claimedAt: [UUID: Date] = [:]
        var notified: [Date] = []
        var woke: [Date] = []
        for (moment, at) in recorded {
            switch moment {
            case .notified: notified.append(at)
            case .woke: woke.append(at)
            case .claimed(let ids), .claimedOnNotification(let ids): for id in ids { claimedAt[id] = at }
            }
        }
        return runs.compactMap { id, run in
            guard let claimed = claimedAt[id],
                  let notice = notified.first(where: { $0 >= run.created && $0 <= claimed })
            else { return nil }
            let wake = woke.first(where: { $0 >= notice && $0 <= run.started }) ?? notice
            let points = [run.created, notice, wake, run.started, claimed, run.body]
            return Pickup(
                parts: zip(points, points.dropFirst()).map { ($1.timeIntervalSince($0)) * 1000 },
                triggerCall: run.returned.timeIntervalSince(run.created) * 1000, created: run.created)
        }
    }
}
