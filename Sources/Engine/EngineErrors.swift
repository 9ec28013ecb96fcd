/// Throw it from a handler or step to fail the run at once, without retries.
public struct NonRetriableError: Error, CustomStringConvertible {
    /// Why the run cannot succeed; stored as the run's error and shown by `nightshift runs`.
    public let message: String

    /// Wraps a message that says what was wrong with the input or state, for the operator who reads it.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// The worker no longer owns the run (its lease expired and another worker took it, or it was
/// cancelled): nothing it does for this run may be written any more.
public struct LeaseLostError: Error, CustomStringConvertible {
    /// The run whose lease was lost.
    public let runID: String
    public var description: String { "lease lost: run \(runID) is no longer owned by this worker" }
}

/// Unwinds a handler after a durable sleep was recorded: the run is queued again for later.
struct RunSuspended: Error {}

/// An attempt ran longer than its function's timeout.
public struct RunTimedOut: Error, CustomStringConvertible {
    /// The function's `timeout`.
    public let limit: Duration
    public var description: String { "attempt timed out after \(limit)" }
}

/// An error a client (PostgreSQL, HTTP) classified as transient or permanent.
public protocol TransienceClassified: Error {
    /// True when trying again later may succeed.
    var isTransient: Bool { get }
}
