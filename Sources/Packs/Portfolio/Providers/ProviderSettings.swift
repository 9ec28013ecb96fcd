import HTTPClient

/// Where the market-data providers live and how patiently they are asked: one value for both
/// the rate provider (Frankfurter format) and the price provider (our documented format).
public struct ProviderSettings: Sendable, Hashable {
    /// The rate provider's base URL; `GET <ratesURL>/latest?base=USD` is requested.
    public var ratesURL: String
    /// The price provider's base URL; `GET <pricesURL>/prices?symbols=...` is requested.
    public var pricesURL: String
    /// How long establishing a connection may take, per attempt.
    public var connectTimeout: Duration
    /// How long one whole exchange may take, per attempt (connect included).
    public var timeout: Duration
    /// How 429, 5xx, refused connections and timeouts are retried (Retry-After replaces the backoff).
    public var retry: RetryPolicy
    /// Symbols per price request, 1...100 (the documented format's limit).
    public var priceBatchSize: Int
    /// Price requests in flight at once, at least 1.
    public var priceConcurrency: Int
    /// The largest response body accepted from either provider.
    public var maxResponseBytes: Int

    /// Settings; the defaults suit a provider on the same network: 5 s to connect, 30 s per
    /// exchange, 4 attempts waiting about 0.5 s, 1 s, 2 s, batches of 100, 4 batches at once.
    public init(
        ratesURL: String,
        pricesURL: String,
        connectTimeout: Duration = .seconds(5),
        timeout: Duration = .seconds(30),
        retry: RetryPolicy = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(500), maxDelay: .seconds(30)),
        priceBatchSize: Int = 100,
        priceConcurrency: Int = 4,
        maxResponseBytes: Int = 10 * 1024 * 1024
    ) {
        self.ratesURL = ratesURL
        self.pricesURL = pricesURL
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.retry = retry
        self.priceBatchSize = priceBatchSize
        self.priceConcurrency = priceConcurrency
        self.maxResponseBytes = maxResponseBytes
    }

    /// The documented format's limit on symbols per price request.
    public static let maxPriceBatchSize = 100

    /// A GET of `url` with these settings' limits.
    func request(_ url: String) -> HTTPRequest {
        var request = HTTPRequest(url: url, headers: ["Accept": "application/json"])
        request.connectTimeout = connectTimeout
        request.timeout = timeout
        request.maxResponseBytes = maxResponseBytes
        return request
    }

    /// `base` and `path` joined with exactly one slash.
    static func join(_ base: String, _ path: String) -> String {
        var base = Substring(base)
        while base.hasSuffix("/") { base = base.dropLast() }
        return "\(base)/\(path)"
    }
}
