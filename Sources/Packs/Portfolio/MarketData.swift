import Config
import Engine
import HTTPClient

/// The overnight job's two market-data providers, from `[portfolio]`. A provider URL left out
/// of the config fails the run at once, naming the key to set, rather than scoring with nothing.
struct MarketData: Sendable {
    private let providers: (rates: RatesProvider, prices: PriceProvider)?
    private let settings: PortfolioSettings

    init(settings: PortfolioSettings, http: HTTPClient) {
        self.settings = settings
        if let ratesURL = settings.ratesURL, let pricesURL = settings.pricesURL {
            let provider = ProviderSettings(
                ratesURL: ratesURL, pricesURL: pricesURL,
                priceBatchSize: min(settings.symbolsPerRequest, ProviderSettings.maxPriceBatchSize))
            providers = (RatesProvider(http: http, settings: provider), PriceProvider(http: http, settings: provider))
        } else {
            providers = nil
        }
    }

    /// Stored with each fetched row (`prices.source`, `exchange_rates.source`).
    var ratesSource: String { ProviderError.redacted(settings.ratesURL ?? "") }
    var pricesSource: String { ProviderError.redacted(settings.pricesURL ?? "") }

    /// The rate provider's answer for `base`, verbatim (Frankfurter format).
    func latestRates(base: String) async throws -> String {
        try await permanentFailuresEndTheRun { try await configured().rates.latest(base: base) }
    }

    /// The price provider's answers for `symbols` (`MARKET:SYMBOL`), one body per batch.
    func prices(for symbols: [String]) async throws -> [String] {
        guard !symbols.isEmpty else { return [] }
        return try await permanentFailuresEndTheRun { try await configured().prices.prices(for: symbols).map(\.body) }
    }

    /// As `prices(for:)`, one answer per batch, a batch the provider never answered as its
    /// symbols and the error (the run falls back to the stored prices for those alone).
    func priceAnswers(for symbols: [String]) async throws -> [(symbols: [String], body: String?, problem: ProviderError?)] {
        guard !symbols.isEmpty else { return [] }
        return try await permanentFailuresEndTheRun {
            try await configured().prices.answers(for: symbols).map { answer -> (symbols: [String], body: String?, problem: ProviderError?) in
                switch answer.result {
                case .success(let batch): return (answer.symbols, batch.body, nil)
                case .failure(let error): return (answer.symbols, nil, error)
                }
            }
        }
    }

    /// A provider that cannot be reached may be back on the run's next attempt; one that
    /// answers nonsense, or a request that cannot be made, will not be: the run ends there.
    private func permanentFailuresEndTheRun<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ProviderError where !error.isUnavailable {
            throw NonRetriableError("\(error)")
        }
    }

    private func configured() throws -> (rates: RatesProvider, prices: PriceProvider) {
        guard let providers else {
            let key = settings.ratesURL == nil ? "portfolio.rates_url (or PORTFOLIO_RATES_URL)" : "portfolio.prices_url (or PORTFOLIO_PRICES_URL)"
            throw NonRetriableError("the market-data providers are not configured: set \(key)")
        }
        return providers
    }
}
