import HTTPClient

/// The exchange-rate provider, Frankfurter format: `GET <ratesURL>/latest?base=USD` →
/// `{"amount": 1.0, "base": "USD", "date": "2026-11-23", "rates": {"EUR": 0.9234, ...}}`.
///
/// Returns the body verbatim for `portfolio.store_rates` (numbers are never parsed in Swift).
/// Throws `ProviderError`: `.unavailable` when retries ran out (the job then reuses the last
/// stored rates and marks the run stale), `.invalidResponse` when the provider answered
/// something else than rates for the base asked, `.invalidRequest` for a bad URL or base.
public struct RatesProvider: Sendable {
    private let http: HTTPClient
    private let settings: ProviderSettings

    /// A provider at `settings.ratesURL`, asked through `http`.
    public init(http: HTTPClient, settings: ProviderSettings) {
        self.http = http
        self.settings = settings
    }

    /// The URL asked for `base`'s rates.
    public func url(base: String) -> String {
        ProviderSettings.join(settings.ratesURL, "latest?base=\(base)")
    }

    /// The provider's answer for `base` (three letters, case ignored), byte for byte, once it is
    /// checked to be a JSON object whose `base` is the one asked and whose `rates` is an object.
    /// Transient failures are retried per `settings.retry`; cancellation throws `CancellationError`.
    public func latest(base: String) async throws -> String {
        let base = base.uppercased()
        let url = url(base: base)
        guard base.utf8.count == 3, base.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else {
            throw ProviderError(
                kind: .invalidRequest, provider: .rates, url: settings.ratesURL,
                reason: "base must be a three-letter currency code, got \"\(base)\"", attempts: 0)
        }
        let response: HTTPResponse
        do {
            response = try await http.execute(settings.request(url), retry: settings.retry)
        } catch let error as HTTPClientError {
            if error.kind == .cancelled { throw CancellationError() }
            throw ProviderError(provider: .rates, url: url, http: error)
        }
        return try Self.check(response.body, base: base, url: url)
    }

    /// The body as text when it holds `base`'s rates; else `.invalidResponse` saying what is wrong.
    static func check(_ body: [UInt8], base: String, url: String) throws -> String {
        func nonsense(_ problem: String) -> ProviderError {
            ProviderError(kind: .invalidResponse, provider: .rates, url: url, reason: "answered nonsense: \(problem)", attempts: 0)
        }
        guard let text = ProviderJSON.text(body) else { throw nonsense("the body is not UTF-8") }
        switch ProviderJSON.decode(ProviderJSON.RatesHead.self, from: body) {
        case .failure(let problem):
            throw nonsense(problem.message)
        case .success(let head) where head.base != base:
            throw nonsense("asked for base \(base), got base \"\(head.base.prefix(20))\"")
        case .success:
            return text
        }
    }
}
