import Foundation
import Synchronization

/// Wakes the claim loop at the earliest instant the database says a run becomes claimable (a
/// retry's backoff or a durable sleep ending, a lease expiring), which no NOTIFY announces:
/// such runs start within milliseconds of becoming due instead of at the next poll.
final class WakeTimer: Sendable {
    private let armed = Mutex<(at: ContinuousClock.Instant, task: Task<Void, Never>)?>(nil)

    /// Arms the timer for `instant` unless an earlier wake-up is already armed.
    func arm(at instant: ContinuousClock.Instant, _ fire: @escaping @Sendable () -> Void) {
        armed.withLock { armed in
            if let current = armed, current.at <= instant, current.at > .now { return }
            armed?.task.cancel()
            armed = (instant, Task {
                do { try await Task.sleep(until: instant, clock: .continuous) } catch { return }
                fire()
            })
        }
    }

    /// Cancels the armed wake-up (shutdown).
    func cancel() {
        armed.withLock { armed in
            armed?.task.cancel()
            armed = nil
        }
    }
}
