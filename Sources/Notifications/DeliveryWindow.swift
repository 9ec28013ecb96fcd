import Synchronization

/// The dispatcher's deliveries in flight, at most `limit`: the claim loop waits for room before
/// claiming more, each finished send makes room. One waiter (the claim loop, which owns the
/// `releases` iterator), any number of senders releasing.
final class DeliveryWindow: Sendable {
    let limit: Int
    private let inFlight = Mutex(0)
    /// A signal per release, coalesced: one buffered signal is enough for the waiter to look again.
    let releases: AsyncStream<Void>
    private let releasesContinuation: AsyncStream<Void>.Continuation

    init(limit: Int) {
        self.limit = limit
        (releases, releasesContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// How many more may start now.
    var room: Int { limit - inFlight.withLock { $0 } }

    /// Whether nothing is in flight.
    var isIdle: Bool { inFlight.withLock { $0 == 0 } }

    /// `count` sends start.
    func take(_ count: Int) {
        inFlight.withLock { $0 += count }
    }

    /// One send finished.
    func release() {
        inFlight.withLock { $0 -= 1 }
        releasesContinuation.yield()
    }
}
