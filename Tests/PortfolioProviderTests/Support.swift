import HTTPClient
import PortfolioPack
import PortfolioProviderStub

/// Runs `body` with a fresh stub on loopback and a fresh client; stops both afterwards, whatever happened.
func withStub<T: Sendable>(_ body: (ProviderStub, HTTPClient) async throws -> T) async throws -> T {
    let stub = try await ProviderStub.start()
    let client = HTTPClient()
    let result: Result<T, any Error>
    do { result = .success(try await body(stub, client)) } catch { result = .failure(error) }
    await client.shutdown()
    await stub.stop()
    return try result.get()
}

/// Settings pointing both providers at `stub`, with tiny backoff so the suite stays fast
/// (maxDelay 3 s leaves room for a Retry-After of 1 s).
func settings(
    _ stub: ProviderStub, attempts: Int = 3, timeout: Duration = .seconds(5), batch: Int = 100, concurrency: Int = 4
) -> ProviderSettings {
    ProviderSettings(
        ratesURL: stub.baseURL, pricesURL: stub.baseURL + "/", connectTimeout: .seconds(2), timeout: timeout,
        retry: RetryPolicy(maxAttempts: attempts, baseDelay: .milliseconds(10), multiplier: 2, maxDelay: .seconds(3), jitter: false),
        priceBatchSize: batch, priceConcurrency: concurrency)
}

/// Seconds `body` took, and what it returned or threw.
func timed<T: Sendable>(_ body: () async throws -> T) async -> (Result<T, any Error>, seconds: Double) {
    let start = ContinuousClock.now
    let result: Result<T, any Error>
    do { result = .success(try await body()) } catch { result = .failure(error) }
    let elapsed = ContinuousClock.now - start
    return (result, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}
