/// Coalescing wake-ups for the claim loop: a NOTIFY, a freed slot and the poll timer all
/// just say "look again"; however many arrive while the loop is busy, it looks once more.
struct WakeSignal: Sendable {
    let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func signal() {
        continuation.yield()
    }

    /// Ends the claim loop (graceful shutdown).
    func finish() {
        continuation.finish()
    }
}
