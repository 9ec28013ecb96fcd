import Foundation

/// How `execute(_:retry:)` repeats a request that failed transiently: exponential backoff, capped.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included; 1 means no retry.
    public var maxAttempts: Int
    /// The wait before the second attempt.
    public var baseDelay: Duration
    /// Each further wait is the previous one times this.
    public var multiplier: Double
    /// No wait is longer than this, a server's `Retry-After` included.
    public var maxDelay: Duration
    /// Whether each wait is drawn from its upper half, so that many clients do not retry in step.
    public var jitter: Bool

    /// A policy; the defaults wait about 1 s, then 2 s.
    public init(
        maxAttempts: Int = 3,
        baseDelay: Duration = .seconds(1),
        multiplier: Double = 2,
        maxDelay: Duration = .seconds(30),
        jitter: Bool = true
    ) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.multiplier = multiplier
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    /// The wait after failed attempt number `attempt` (1-based); a server's `retryAfter` replaces the backoff.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration? = nil) -> Duration {
        let cap = maxDelay.seconds
        if let retryAfter {
            return .seconds(min(retryAfter.seconds, cap))
        }
        // Computed in Double: a large attempt number overflows Duration's integer arithmetic.
        let backoff = min(baseDelay.seconds * pow(multiplier, Double(max(attempt - 1, 0))), cap)
        return .seconds(jitter ? Double.random(in: backoff / 2...backoff) : backoff)
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
