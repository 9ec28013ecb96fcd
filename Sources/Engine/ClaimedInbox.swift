import Synchronization

/// Runs the listener claimed, waiting for the claim loop to start them. Closed when the claim
/// loop ends: a claim that lands after that is handed back by whoever made it.
final class ClaimedInbox: Sendable {
    private let state = Mutex<(open: Bool, runs: [ClaimedRun])>((true, []))

    var isOpen: Bool { state.withLock { $0.open } }

    /// Leaves `runs` for the claim loop; false when the inbox is closed (the runs were not taken).
    func deposit(_ runs: [ClaimedRun]) -> Bool {
        state.withLock { state in
            guard state.open else { return false }
            state.runs.append(contentsOf: runs)
            return true
        }
    }

    /// Everything deposited so far.
    func take() -> [ClaimedRun] {
        state.withLock { state in
            defer { state.runs = [] }
            return state.runs
        }
    }

    /// Refuses later deposits and returns what was left.
    func close() -> [ClaimedRun] {
        state.withLock { state in
            state.open = false
            defer { state.runs = [] }
            return state.runs
        }
    }
}
