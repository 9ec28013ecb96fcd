import HTTPClient

/// The price provider, our documented format: `GET <pricesURL>/prices?symbols=NYSE:AAPL,B3:PETR4`
/// (at most 100 comma-separated `MARKET:SYMBOL`s, each percent-encoded) →
/// `{"prices": [{"symbol": "NYSE:AAPL", "price": "187.23", "currency": "USD", "asOf": "2026-11-23T21:00:00Z"}], "missing": ["B3:XXXX"]}`
/// (`price` a decimal string; a JSON number is accepted too, by SQL).
///
/// Returns each batch's body verbatim for `portfolio.store_prices`. Throws `ProviderError`
/// (`.unavailable` when a batch's retries ran out, `.invalidResponse` for an answer that is not
/// the format, `.invalidRequest` for a bad URL, setting or symbol).
public struct PriceProvider: Sendable {
    private let http: HTTPClient
    private let settings: ProviderSettings

    /// A provider at `settings.pricesURL`, asked through `http`.
    public init(http: HTTPClient, settings: ProviderSettings) {
        self.http = http
        self.settings = settings
    }

    /// One request's symbols and the provider's answer to it, byte for byte.
    public struct Batch: Sendable, Hashable {
        /// The symbols asked, in order.
        public var symbols: [String]
        /// The response body, checked to be an object with a `prices` array.
        public var body: String

        /// A batch.
        public init(symbols: [String], body: String) {
            self.symbols = symbols
            self.body = body
        }
    }

    /// The prices of `symbols` (`MARKET:SYMBOL`; duplicates asked once), one batch per request of
    /// at most `settings.priceBatchSize` symbols, in the order of `symbols`; up to
    /// `settings.priceConcurrency` requests run at once. The first batch to fail fails the call
    /// (the others are cancelled). No symbols: no request, no batches.
    public func prices(for symbols: [String]) async throws -> [Batch] {
        try await answers(for: symbols, unavailableFailsTheCall: true).map { try $0.result.get() }
    }

    /// One request's symbols and what became of it: the batch, or the error of a request whose
    /// retries ran out (`.unavailable`).
    public struct Answer: Sendable {
        /// The symbols asked, in order.
        public var symbols: [String]
        /// The batch, or why the provider never answered it.
        public var result: Result<Batch, ProviderError>
    }

    /// As `prices(for:)`, but a batch the provider never answered (its retries ran out,
    /// `.unavailable`) does not fail the call: it comes back as a failure with its symbols, so
    /// the caller can fall back for those symbols alone while the other batches count. Any other
    /// error (a nonsense answer, a bad request) still fails the call.
    public func answers(for symbols: [String]) async throws -> [Answer] {
        try await answers(for: symbols, unavailableFailsTheCall: false)
    }

    private func answers(for symbols: [String], unavailableFailsTheCall: Bool) async throws -> [Answer] {
        let endpoint = ProviderSettings.join(settings.pricesURL, "prices")
        guard (1...ProviderSettings.maxPriceBatchSize).contains(settings.priceBatchSize) else {
            throw ProviderError(
                kind: .invalidRequest, provider: .prices, url: endpoint,
                reason: "priceBatchSize must be 1...\(ProviderSettings.maxPriceBatchSize), got \(settings.priceBatchSize)", attempts: 0)
        }
        if let bad = symbols.first(where: { !Self.isValid($0) }) {
            throw ProviderError(
                kind: .invalidRequest, provider: .prices, url: endpoint,
                reason: "\"\(bad.prefix(60))\" is not MARKET:SYMBOL (both parts non-empty, no comma)", attempts: 0)
        }
        let batches = Self.batches(symbols, size: settings.priceBatchSize)
        var results = [Result<Batch, ProviderError>?](repeating: nil, count: batches.count)
        let concurrency = max(settings.priceConcurrency, 1)
        try await withThrowingTaskGroup(of: (Int, Result<Batch, ProviderError>).self) { group in
            var next = 0
            func startNext() {
                let index = next
                next += 1
                group.addTask {
                    do {
                        return (index, .success(try await fetch(batches[index], index: index, of: batches.count, endpoint: endpoint)))
                    } catch let error as ProviderError where error.isUnavailable && !unavailableFailsTheCall {
                        return (index, .failure(error))
                    }
                }
            }
            while next < min(concurrency, batches.count) { startNext() }
            // Leaving by a throw cancels the batches still running and waits for them.
            while let (index, batch) = try await group.next() {
                results[index] = batch
                if next < batches.count { startNext() }
            }
        }
        return zip(batches, results).map { Answer(symbols: $0, result: $1!) }
    }

    /// The URL asked for `symbols`: each percent-encoded, joined by commas.
    public func url(symbols: [String]) -> String {
        ProviderSettings.join(settings.pricesURL, "prices?symbols=" + symbols.map(Self.percentEncoded).joined(separator: ","))
    }

    /// `symbols` without repeats (first occurrence kept), cut into runs of at most `size`.
    public static func batches(_ symbols: [String], size: Int) -> [[String]] {
        var seen = Set<String>()
        let unique = symbols.filter { seen.insert($0).inserted }
        return stride(from: 0, to: unique.count, by: max(size, 1)).map { Array(unique[$0..<min($0 + max(size, 1), unique.count)]) }
    }

    /// `MARKET:SYMBOL` with both parts non-empty and no comma (the list separator).
    static func isValid(_ symbol: String) -> Bool {
        guard let colon = symbol.firstIndex(of: ":") else { return false }
        return colon != symbol.startIndex && symbol.index(after: colon) != symbol.endIndex && !symbol.contains(",")
    }

    /// RFC 3986 percent-encoding of everything but unreserved characters and `:`, so `+`, `&`,
    /// `=`, `#`, `%`, spaces and non-ASCII reach the provider as written.
    static func percentEncoded(_ symbol: String) -> String {
        var encoded = ""
        for byte in symbol.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                encoded.unicodeScalars.append("%")
                encoded.unicodeScalars.append(hex[Int(byte >> 4)])
                encoded.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return encoded
    }

    /// One batch, retried per the settings, its body checked.
    private func fetch(_ symbols: [String], index: Int, of count: Int, endpoint: String) async throws -> Batch {
        let which = "batch \(index + 1) of \(count) (\(symbols.count) symbols from \(symbols[0].prefix(40)))"
        let response: HTTPResponse
        do {
            response = try await http.execute(settings.request(url(symbols: symbols)), retry: settings.retry)
        } catch let error as HTTPClientError {
            if error.kind == .cancelled { throw CancellationError() }
            var failure = ProviderError(provider: .prices, url: endpoint, http: error)
            failure.reason = "\(which): \(failure.reason)"
            throw failure
        }
        func nonsense(_ problem: String) -> ProviderError {
            ProviderError(kind: .invalidResponse, provider: .prices, url: endpoint, reason: "\(which): answered nonsense: \(problem)", attempts: 0)
        }
        guard let text = ProviderJSON.text(response.body) else { throw nonsense("the body is not UTF-8") }
        if case .failure(let problem) = ProviderJSON.decode(ProviderJSON.PricesHead.self, from: response.body) {
            throw nonsense(problem.message)
        }
        return Batch(symbols: symbols, body: text)
    }
}
