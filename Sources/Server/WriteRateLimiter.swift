import Hummingbird

/// At most `perMinute` writes (triggers, events, criteria, recalculations) per caller, as a
/// token bucket each: a burst of `perMinute`, refilled evenly over the minute. In memory, per
/// process; idle callers' buckets are dropped once full again, so memory stays bounded.
public actor WriteRateLimiter {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let perMinute: Int
    private var buckets: [String: Bucket] = [:]
    /// Past this many callers, full buckets are forgotten (a full bucket is a new caller's).
    private let pruneAbove = 10_000

    init(perMinute: Int) {
        self.perMinute = perMinute
    }

    /// Takes one write for `principal`; 429 with `Retry-After` when its bucket is empty.
    public func admit(_ principal: Principal) throws(APIError) {
        guard perMinute > 0 else { return }
        if let wait = take(Self.key(principal), now: .now) {
            let seconds = max(1, Int((Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18).rounded(.up)))
            var limited = APIError(.tooManyRequests, code: "rate_limited",
                                   message: "at most \(perMinute) writes per minute per token; retry in \(seconds) s")
            limited.headers[.retryAfter] = "\(seconds)"
            throw limited
        }
    }

    /// nil when a write is left, else how long until the next one is.
    func take(_ key: String, now: ContinuousClock.Instant) -> Duration? {
        let capacity = Double(perMinute)
        let perSecond = capacity / 60
        var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now)
        let elapsed = now - bucket.updated
        bucket.tokens = min(capacity, bucket.tokens + perSecond * (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
        bucket.updated = now
        defer { buckets[key] = bucket; pruneIfLarge(now: now) }
        guard bucket.tokens >= 1 else { return .seconds((1 - bucket.tokens) / perSecond) }
        bucket.tokens -= 1
        return nil
    }

    private func pruneIfLarge(now: ContinuousClock.Instant) {
        guard buckets.count > pruneAbove else { return }
        let refill = Duration.seconds(60)
        buckets = buckets.filter { now - $0.value.updated < refill }
    }

    /// One caller: a user by their id (all their tokens), any other token by its claims.
    private static func key(_ principal: Principal) -> String {
        "\(principal.role.rawValue):\(principal.subject ?? principal.claimsJSON)"
    }
}
