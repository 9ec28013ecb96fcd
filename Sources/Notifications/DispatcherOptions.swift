/// How a `DeliveryDispatcher` claims and sends.
public struct DispatcherOptions: Sendable {
    /// Most deliveries one claim takes.
    public var batchSize: Int
    /// Most webhooks out at once: a claim waits until there is room for a whole one. It bounds
    /// the connections to receivers and the rows this process holds leases on.
    public var maxInFlight: Int
    /// How long a claim holds before another dispatcher may take the delivery over; longer
    /// than `requestTimeout`, so a live dispatcher always reports before its lease runs out.
    public var lease: Duration
    /// Claim even without a NOTIFY this often: retries coming due, notifications lost.
    public var pollInterval: Duration
    /// The most one webhook request may take, connect included.
    public var requestTimeout: Duration
    /// The most connecting to a webhook may take.
    public var connectTimeout: Duration
    /// The most of a receiver's answer that is read: past it the transfer is cut off, so a
    /// receiver cannot make the dispatcher buffer megabytes. The status still decides the
    /// outcome (a 2xx with a longer body is delivered); the body only feeds `last_error`.
    public var maxResponseBytes: Int

    /// Options; the lease is raised to at least twice the request timeout.
    public init(
        batchSize: Int = 64, maxInFlight: Int = 256, lease: Duration = .seconds(60), pollInterval: Duration = .seconds(2),
        requestTimeout: Duration = .seconds(15), connectTimeout: Duration = .seconds(5), maxResponseBytes: Int = 64 * 1024
    ) {
        precondition(batchSize > 0, "a dispatcher claims at least one delivery at a time")
        precondition(maxInFlight > 0, "a dispatcher sends at least one delivery at a time")
        precondition(maxResponseBytes >= 0, "a response cap cannot be negative")
        self.batchSize = batchSize
        self.maxInFlight = maxInFlight
        self.lease = max(lease, requestTimeout * 2)
        self.pollInterval = pollInterval
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.maxResponseBytes = maxResponseBytes
    }

    /// The lease as a PostgreSQL interval literal.
    var leaseInterval: String {
        let milliseconds = lease.components.seconds * 1000 + lease.components.attoseconds / 1_000_000_000_000_000
        return "\(milliseconds) milliseconds"
    }
}
