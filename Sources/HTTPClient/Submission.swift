import Synchronization

/// A request handed from a calling task to the loop thread, with the continuation to resume.
struct Submission: Sendable {
    /// Identifies the transfer for a later cancellation.
    let id: UInt64
    /// What to send.
    let request: HTTPRequest
    /// Set when the awaiting task is cancelled, possibly before the loop has seen this submission.
    let cancellation: CancellationFlag
    /// Resumed exactly once, by the loop thread (or by `submit` if the loop has stopped).
    let continuation: CheckedContinuation<HTTPResponse, any Error>
}

/// A one-way flag the cancellation handler raises and the loop thread reads.
final class CancellationFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    /// Raises the flag.
    func raise() { raised.store(true, ordering: .releasing) }

    /// Whether the flag was raised.
    var isRaised: Bool { raised.load(ordering: .acquiring) }
}
