import Foundation
import HTTPClient
import PortfolioProviderStub
import Testing

@testable import PortfolioPack

@Suite("Price provider over loopback HTTP")
struct PriceProviderTests {
    /// `count` distinct symbols spread over the stub's markets.
    private static func symbols(_ count: Int) -> [String] {
        let markets = ["NYSE", "NASDAQ", "B3", "LSE", "XETRA", "TSE"]
        return (0..<count).map { "\(markets[$0 % markets.count]):SYM\($0)" }
    }

    @Test("250 symbols in batches of 100: three requests, every symbol priced, order kept")
    func batchesSymbols() async throws {
        try await withStub { stub, http in
            let symbols = Self.symbols(250)
            let batches = try await PriceProvider(http: http, settings: settings(stub, batch: 100)).prices(for: symbols)
            #expect(batches.map(\.symbols.count) == [100, 100, 50])
            #expect(batches.flatMap(\.symbols) == symbols)
            #expect(stub.controls.requests(.prices) == 3)
            #expect(Set(stub.controls.priceRequests.flatMap { $0 }) == Set(symbols))
            for batch in batches {
                #expect(batch.body == StubData.pricesBody(symbols: batch.symbols), "each body passes through unchanged")
                let document = try JSONSerialization.jsonObject(with: Data(batch.body.utf8)) as? [String: Any]
                let priced = (document?["prices"] as? [[String: Any]])?.compactMap { $0["symbol"] as? String }
                #expect(priced == batch.symbols)
            }
        }
    }

    @Test("Symbols are percent-encoded and reach the provider exactly as written")
    func encodesSymbols() async throws {
        try await withStub { stub, http in
            let symbols = ["NYSE:BRK.B", "LSE:A&B=C", "NYSE:X+Y", "B3:ÇÃO 1", "TSE:100%", "XETRA:A/B#C?D", "NASDAQ:~_-"]
            let provider = PriceProvider(http: http, settings: settings(stub))
            #expect(provider.url(symbols: ["NYSE:X+Y", "B3:Ç D"]) == "\(stub.baseURL)/prices?symbols=NYSE:X%2BY,B3:%C3%87%20D")
            let batches = try await provider.prices(for: symbols)
            #expect(stub.controls.priceRequests == [symbols])
            #expect(batches.count == 1)
            #expect(batches[0].body == StubData.pricesBody(symbols: symbols))
            #expect(batches[0].body.contains("\"symbol\":\"B3:ÇÃO 1\""))
        }
    }

    @Test("Unknown markets come back as missing; duplicates are asked once")
    func missingAndDuplicates() async throws {
        try await withStub { stub, http in
            let batches = try await PriceProvider(http: http, settings: settings(stub))
                .prices(for: ["NYSE:AAPL", "MARS:ROCK", "NYSE:AAPL", "B3:PETR4"])
            #expect(batches.map(\.symbols) == [["NYSE:AAPL", "MARS:ROCK", "B3:PETR4"]])
            #expect(batches[0].body.hasSuffix("\"missing\":[\"MARS:ROCK\"]}"))
            #expect(stub.controls.requests(.prices) == 1)
        }
    }

    @Test("No symbols: no request")
    func noSymbols() async throws {
        try await withStub { stub, http in
            let batches = try await PriceProvider(http: http, settings: settings(stub)).prices(for: [])
            #expect(batches.isEmpty)
            #expect(stub.controls.requests(.prices) == 0)
        }
    }

    @Test("At most priceConcurrency requests run at once, results stay in order")
    func boundsConcurrency() async throws {
        try await withStub { stub, http in
            stub.controls.delay = .milliseconds(150)
            let symbols = Self.symbols(10)
            let provider = PriceProvider(http: http, settings: settings(stub, batch: 1, concurrency: 4))
            let (result, _) = await timed { try await provider.prices(for: symbols) }
            let batches = try result.get()
            #expect(batches.map(\.symbols) == symbols.map { [$0] })
            #expect(stub.controls.requests(.prices) == 10)
            // Never more than 4 at once; more than one, or the requests ran one by one. (A busy
            // machine may not reach all 4: the bound is what is asserted, not the speed.)
            #expect((2...4).contains(stub.controls.peakConcurrentRequests), "peak \(stub.controls.peakConcurrentRequests)")
        }
    }

    @Test("Two 503s then prices: the batch succeeds on its third request")
    func retriesBatches() async throws {
        try await withStub { stub, http in
            stub.controls.failNext(2, on: .prices, status: 503)
            let batches = try await PriceProvider(http: http, settings: settings(stub)).prices(for: ["NYSE:AAPL"])
            #expect(batches.count == 1)
            #expect(stub.controls.requests(.prices) == 3)
        }
    }

    @Test("429 with Retry-After on prices is honoured")
    func honoursRetryAfter() async throws {
        try await withStub { stub, http in
            stub.controls.failNext(1, on: .prices, status: 429, retryAfter: 1)
            let provider = PriceProvider(http: http, settings: settings(stub))
            let (result, seconds) = await timed { try await provider.prices(for: ["LSE:VOD"]) }
            let batches = try result.get()
            #expect(batches.count == 1)
            #expect(seconds >= 0.95, "waited \(seconds) s: Retry-After says 1 s")
            #expect(stub.controls.requests(.prices) == 2)
        }
    }

    @Test("A provider that stays down: unavailable, naming the batch")
    func downIsUnavailable() async throws {
        try await withStub { stub, http in
            stub.controls.setDown(.prices, true)
            let provider = PriceProvider(http: http, settings: settings(stub, attempts: 2, concurrency: 1))
            let error = try await #require(throws: ProviderError.self) { try await provider.prices(for: Self.symbols(150)) }
            #expect(error.kind == .unavailable)
            #expect(error.attempts == 2)
            #expect("\(error)".hasPrefix("price provider at \(stub.baseURL)/prices: batch 1 of 2 (100 symbols from NYSE:SYM0): unavailable after 2 attempts"))
            #expect(stub.controls.requests(.prices) == 2, "the first batch failing stops the call")
        }
    }

    @Test("A slow provider times out and is unavailable")
    func timeoutIsUnavailable() async throws {
        try await withStub { stub, http in
            stub.controls.delay = .seconds(2)
            let provider = PriceProvider(http: http, settings: settings(stub, attempts: 2, timeout: .milliseconds(300)))
            let (result, _) = await timed { try await provider.prices(for: ["NYSE:AAPL"]) }
            let error = try #require(throws: ProviderError.self) { try result.get() }
            #expect(error.kind == .unavailable)
            #expect(error.underlying?.kind == .timeout)
        }
    }

    @Test("An answer that is not the documented format is a permanent error")
    func nonsenseIsPermanent() async throws {
        try await withStub { stub, http in
            stub.controls.setBody("{\"data\": []}", for: .prices)
            let provider = PriceProvider(http: http, settings: settings(stub))
            let error = try await #require(throws: ProviderError.self) { try await provider.prices(for: ["NYSE:AAPL"]) }
            #expect(error.kind == .invalidResponse)
            #expect("\(error)" == "price provider at \(stub.baseURL)/prices: batch 1 of 1 (1 symbols from NYSE:AAPL): answered nonsense: no \"prices\" field")
            #expect(stub.controls.requests(.prices) == 1)
        }
    }

    @Test("Symbols that are not MARKET:SYMBOL, and bad batch sizes, are refused before any request")
    func invalidInputIsRefused() async throws {
        try await withStub { stub, http in
            let provider = PriceProvider(http: http, settings: settings(stub))
            for symbol in ["AAPL", ":AAPL", "NYSE:", "NYSE:A,B", ""] {
                let error = try await #require(throws: ProviderError.self) { try await provider.prices(for: ["NYSE:OK", symbol]) }
                #expect(error.kind == .invalidRequest)
            }
            for size in [0, 101] {
                let error = try await #require(throws: ProviderError.self) {
                    try await PriceProvider(http: http, settings: settings(stub, batch: size)).prices(for: ["NYSE:OK"])
                }
                #expect(error.kind == .invalidRequest)
            }
            #expect(stub.controls.requests(.prices) == 0)
        }
    }

    @Test("Batching keeps first occurrences in order")
    func batchArithmetic() {
        #expect(PriceProvider.batches(["a", "b", "a", "c", "d", "b", "e"], size: 2) == [["a", "b"], ["c", "d"], ["e"]])
        #expect(PriceProvider.batches([], size: 100).isEmpty)
    }
}
