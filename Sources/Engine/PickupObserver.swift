import Foundation

/// A moment in one pickup, as the worker sees it (see ``WorkerOptions/pickupObserver``).
package enum PickupMoment: Sendable {
    /// A run's NOTIFY reached the listener's thread.
    case notified
    /// The claim loop woke for a signal.
    case woke
    /// A claim statement returned these runs to the claim loop.
    case claimed([UUID])
    /// The listener's claim on a NOTIFY (on its own connection) returned these runs.
    case claimedOnNotification([UUID])
}

/// Called at each ``PickupMoment`` with the wall clock (the database's clock on the same host), so a
/// benchmark can split a pickup's latency into its parts. Must return at once: it runs on the
/// listener's thread and in the claim loop.
package typealias PickupObserver = @Sendable (PickupMoment, Date) -> Void
