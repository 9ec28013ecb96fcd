import Config

/// `[portfolio]`: the market-data providers of the overnight scoring and its batch size.
/// Environment: `PORTFOLIO_RATES_URL`, `PORTFOLIO_PRICES_URL`, and the seed's `OVERNIGHT_JOB_CRON`
/// (the overnight run's schedule).
public struct PortfolioSettings: ConfigSection {
    public static let name = "portfolio"

    /// Exchange rates in the Frankfurter format: `GET <ratesURL>/latest?base=<ratesBase>`.
    public var ratesURL: String?
    /// Prices: `GET <pricesURL>/prices?symbols=MARKET:SYMBOL,...` (README "Portfolio pack").
    public var pricesURL: String?
    /// The currency rates are fetched against; every conversion crosses through it.
    public var ratesBase: String
    /// Users scored per checkpointed step.
    public var usersPerBatch: Int
    /// Symbols per price request.
    public var symbolsPerRequest: Int

    public init(
        ratesURL: String? = nil, pricesURL: String? = nil, ratesBase: String = "USD",
        usersPerBatch: Int = 50, symbolsPerRequest: Int = 100
    ) {
        self.ratesURL = ratesURL
        self.pricesURL = pricesURL
        self.ratesBase = ratesBase
        self.usersPerBatch = usersPerBatch
        self.symbolsPerRequest = symbolsPerRequest
    }

    public init() {
        self.init(ratesURL: nil)
    }

    public init(reading section: inout TOMLSection) throws {
        let defaults = PortfolioSettings()
        self.init(
            ratesURL: try section.string("rates_url"),
            pricesURL: try section.string("prices_url"),
            ratesBase: try section.string("rates_base") ?? defaults.ratesBase,
            usersPerBatch: try section.int("users_per_batch", range: 1...10_000) ?? defaults.usersPerBatch,
            symbolsPerRequest: try section.int("symbols_per_request", range: 1...100) ?? defaults.symbolsPerRequest)
    }

    public mutating func applyEnvironment(_ environment: ConfigEnvironment, jobs: inout [String: JobSettings]) throws {
        if let url = environment.string("PORTFOLIO_RATES_URL") { ratesURL = url }
        if let url = environment.string("PORTFOLIO_PRICES_URL") { pricesURL = url }
        if let cron = environment.string("OVERNIGHT_JOB_CRON") {
            jobs[OvernightScoring.id, default: JobSettings()].cron = cron
        }
    }

    public func validate(source: String) throws {
        for (key, url) in [("portfolio.rates_url", ratesURL), ("portfolio.prices_url", pricesURL)] {
            if let url, !NightshiftConfig.isHTTPURL(url) {
                throw ConfigError(key: key, source: source, problem: "must be an http(s) URL, got \"\(url)\"")
            }
        }
        if ratesBase.range(of: "^[A-Z]{3}$", options: .regularExpression) == nil {
            throw ConfigError(
                key: "portfolio.rates_base", source: source, problem: "must be an ISO 4217 code such as USD, got \"\(ratesBase)\"")
        }
    }
}
