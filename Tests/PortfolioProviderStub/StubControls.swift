import Synchronization

/// The stub's endpoints, for counters and failure switches.
public enum StubEndpoint: String, Sendable, Hashable, CaseIterable {
    /// `GET /latest?base=`.
    case rates
    /// `GET /prices?symbols=`.
    case prices
}

/// What the stub records and how it misbehaves; safe to read and switch from any task.
public final class StubControls: Sendable {
    /// A planned run of failures.
    struct Failures {
        var remaining: Int
        var status: Int
        var retryAfter: Int?
    }

    struct State {
        var counts: [StubEndpoint: Int] = [:]
        var down: Set<StubEndpoint> = []
        var failures: [StubEndpoint: Failures] = [:]
        var delay: Duration = .zero
        var bodies: [StubEndpoint: String] = [:]
        var priceRequests: [[String]] = []
        var rateBases: [String] = []
        var inFlight = 0
        var peakInFlight = 0
    }

    private let state = Mutex(State())

    /// Controls with every counter at zero and no failure switched on.
    public init() {}

    /// Requests received on `endpoint`, failed ones included.
    public func requests(_ endpoint: StubEndpoint) -> Int {
        state.withLock { $0.counts[endpoint] ?? 0 }
    }

    /// The symbols of each `/prices` request, as the stub decoded them, in arrival order.
    public var priceRequests: [[String]] {
        state.withLock { $0.priceRequests }
    }

    /// The `base` of each `/latest` request, in arrival order.
    public var rateBases: [String] {
        state.withLock { $0.rateBases }
    }

    /// The most requests that were being answered at the same moment.
    public var peakConcurrentRequests: Int {
        state.withLock { $0.peakInFlight }
    }

    /// Zeroes the counters and the request logs (failure switches stay as they are).
    public func resetCounters() {
        state.withLock {
            $0.counts = [:]
            $0.priceRequests = []
            $0.rateBases = []
            $0.peakInFlight = $0.inFlight
        }
    }

    /// While on, `endpoint` answers 503 to every request.
    public func setDown(_ endpoint: StubEndpoint, _ down: Bool) {
        state.withLock { if down { $0.down.insert(endpoint) } else { $0.down.remove(endpoint) } }
    }

    /// Whether the rate endpoint answers 503 to everything ("the rate provider is down").
    public var ratesDown: Bool {
        get { state.withLock { $0.down.contains(.rates) } }
        set { setDown(.rates, newValue) }
    }

    /// The next `count` requests on `endpoint` get `status` (503 or 429, say), with a
    /// `Retry-After: <seconds>` header when `retryAfter` is given; replaces an earlier plan.
    public func failNext(_ count: Int, on endpoint: StubEndpoint, status: Int = 503, retryAfter: Int? = nil) {
        state.withLock { $0.failures[endpoint] = Failures(remaining: count, status: status, retryAfter: retryAfter) }
    }

    /// How long every request waits before it is answered (zero: none).
    public var delay: Duration {
        get { state.withLock { $0.delay } }
        set { state.withLock { $0.delay = newValue } }
    }

    /// While set, `endpoint` answers 200 with `body` instead of its data (a provider that
    /// ignores the base asked, or answers garbage); nil restores the data.
    public func setBody(_ body: String?, for endpoint: StubEndpoint) {
        state.withLock { $0.bodies[endpoint] = body }
    }

    /// Every switch off, every counter zero.
    public func reset() {
        state.withLock { $0 = State(inFlight: $0.inFlight) }
    }

    /// What to do with a request that just arrived on `endpoint`: counted, logged, and either a
    /// failure (status, Retry-After) or nil to answer normally after `delay`.
    func arrive(_ endpoint: StubEndpoint, symbols: [String]? = nil, base: String? = nil) -> Arrival {
        state.withLock { state in
            state.counts[endpoint, default: 0] += 1
            if let symbols { state.priceRequests.append(symbols) }
            if let base { state.rateBases.append(base) }
            state.inFlight += 1
            state.peakInFlight = max(state.peakInFlight, state.inFlight)
            var arrival = Arrival(delay: state.delay, body: state.bodies[endpoint])
            if state.down.contains(endpoint) {
                arrival.failure = (503, nil)
            } else if var plan = state.failures[endpoint], plan.remaining > 0 {
                plan.remaining -= 1
                state.failures[endpoint] = plan
                arrival.failure = (plan.status, plan.retryAfter)
            }
            return arrival
        }
    }

    /// How to answer a request: fail it (status, Retry-After seconds), or answer after `delay`
    /// with `body` when one is set, else with the data.
    struct Arrival {
        var failure: (status: Int, retryAfter: Int?)?
        var delay: Duration
        var body: String?
    }

    /// A request has been answered.
    func leave() {
        state.withLock { $0.inFlight -= 1 }
    }
}
