import Synchronization

/// Whether runs may be waiting for one of this worker's slots, so a run that ends knows if its
/// freed slot is worth a claim. At low load it is not: the listener claimed every run as its
/// NOTIFY arrived, and a claim per completion (with the wake-up query after it) would double the
/// database's work per run for nothing.
///
/// Marked whenever work was left for want of a slot (a NOTIFY answered with every slot taken, a
/// claim loop that stopped with slots full, a failed claim); cleared by a claim that drained the
/// queue, but only of the marks made before that claim started: a run notified during the claim
/// may not be in its snapshot.
final class SlotBacklog: Sendable {
    private let marks = Atomic<UInt64>(0)
    private let cleared = Atomic<UInt64>(0)

    /// Runs may be waiting for a slot.
    func mark() { marks.add(1, ordering: .acquiringAndReleasing) }

    /// Taken before a claim starts; pass it to ``clear(upTo:)`` if the claim drained the queue.
    var current: UInt64 { marks.load(ordering: .acquiring) }

    /// Forgets the marks made up to `mark` (a drained claim that started after them saw their runs).
    func clear(upTo mark: UInt64) {
        var seen = cleared.load(ordering: .acquiring)
        while seen < mark {
            let (exchanged, original) = cleared.compareExchange(expected: seen, desired: mark, ordering: .acquiringAndReleasing)
            if exchanged { return }
            seen = original
        }
    }

    /// Whether a mark is still standing.
    var isMarked: Bool { cleared.load(ordering: .acquiring) < marks.load(ordering: .acquiring) }
}
