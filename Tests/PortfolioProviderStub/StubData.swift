import Foundation

/// The stub's fixed market data: six currencies, one date, prices hashed from the symbol.
public enum StubData {
    /// The date every rate answer carries.
    public static let date = "2026-11-23"
    /// The `asOf` of every price.
    public static let asOf = "2026-11-23T21:00:00Z"
    /// The currencies served, each a base too.
    public static let currencies = ["BRL", "CHF", "EUR", "GBP", "JPY", "USD"]
    /// Each market's currency; a symbol of any other market is reported `missing`.
    public static let marketCurrencies = ["NYSE": "USD", "NASDAQ": "USD", "B3": "BRL", "LSE": "GBP", "XETRA": "EUR", "TSE": "JPY"]

    /// 1 USD in each currency, the table every cross rate derives from.
    static let usdRates: [String: Decimal] = [
        "USD": 1, "EUR": Decimal(string: "0.9234")!, "GBP": Decimal(string: "0.7891")!,
        "BRL": Decimal(string: "5.4321")!, "JPY": Decimal(string: "151.3742")!, "CHF": Decimal(string: "0.8812")!,
    ]

    /// 1 `base` in `quote`, rounded to 6 decimals (so 4 to 6 decimals in the JSON), or nil for an unknown currency.
    public static func rate(base: String, quote: String) -> Decimal? {
        guard let from = usdRates[base], let to = usdRates[quote] else { return nil }
        var exact = to / from
        var rounded = Decimal()
        NSDecimalRound(&rounded, &exact, 6, .plain)
        return rounded
    }

    /// The Frankfurter answer for `base` (rates as JSON numbers, the base itself left out), or nil.
    public static func ratesBody(base: String) -> String? {
        guard usdRates[base] != nil else { return nil }
        let rates = currencies.filter { $0 != base }.map { "\"\($0)\":\(rate(base: base, quote: $0)!)" }
        return "{\"amount\":1.0,\"base\":\"\(base)\",\"date\":\"\(date)\",\"rates\":{\(rates.joined(separator: ","))}}"
    }

    /// The price of `symbol` as a decimal string with 2 decimals, 1.00 to 999.99, from its FNV-1a hash.
    public static func price(symbol: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in symbol.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let cents = 100 + hash % 99_900
        let fraction = cents % 100
        return "\(cents / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// The currency of `symbol`'s market (`MARKET:SYMBOL`), or nil when the market is unknown.
    public static func currency(symbol: String) -> String? {
        guard let colon = symbol.firstIndex(of: ":") else { return nil }
        return marketCurrencies[String(symbol[..<colon])]
    }

    /// The `/prices` answer for `symbols`: known markets priced in order, the rest `missing`.
    public static func pricesBody(symbols: [String]) -> String {
        var prices: [String] = []
        var missing: [String] = []
        for symbol in symbols {
            if let currency = currency(symbol: symbol) {
                prices.append(
                    "{\"symbol\":\(json(symbol)),\"price\":\"\(price(symbol: symbol))\",\"currency\":\"\(currency)\",\"asOf\":\"\(asOf)\"}")
            } else {
                missing.append(json(symbol))
            }
        }
        return "{\"prices\":[\(prices.joined(separator: ","))],\"missing\":[\(missing.joined(separator: ","))]}"
    }

    /// `text` as a JSON string literal.
    static func json(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return String(decoding: try! encoder.encode(text), as: UTF8.self)
    }
}
