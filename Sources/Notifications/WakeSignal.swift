/// Coalescing wake-ups for the dispatch loop: a NOTIFY, a reconnect and the poll timer all just
/// say "look again"; however many arrive while a batch is out, the loop looks once more.
/// (The engine's worker has the same internal type; each module keeps its own.)
struct WakeSignal: Sendable {
    let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func signal() {
        continuation.yield()
    }

    /// Ends the dispatch loop (graceful shutdown).
    func finish() {
        continuation.finish()
    }
}
