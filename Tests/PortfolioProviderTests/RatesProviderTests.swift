import HTTPClient
import PortfolioProviderStub
import Testing

@testable import PortfolioPack

@Suite("Rate provider over loopback HTTP")
struct RatesProviderTests {
    @Test("The body passes through byte for byte, base case ignored, one request")
    func passesBodyThrough() async throws {
        try await withStub { stub, http in
            let body = try await RatesProvider(http: http, settings: settings(stub)).latest(base: "usd")
            #expect(body == StubData.ratesBody(base: "USD"))
            #expect(body.contains("\"JPY\":151.3742"))
            #expect(stub.controls.requests(.rates) == 1)
            #expect(stub.controls.rateBases == ["USD"])
        }
    }

    @Test("Another base than the one asked is a permanent error naming both")
    func baseMismatchIsPermanent() async throws {
        try await withStub { stub, http in
            stub.controls.setBody(StubData.ratesBody(base: "EUR"), for: .rates)
            let provider = RatesProvider(http: http, settings: settings(stub))
            let error = try await #require(throws: ProviderError.self) { try await provider.latest(base: "USD") }
            #expect(error.kind == .invalidResponse)
            #expect(!error.isUnavailable)
            #expect("\(error)" == "rate provider at \(stub.baseURL)/latest?base=USD: answered nonsense: asked for base USD, got base \"EUR\"")
            #expect(stub.controls.requests(.rates) == 1, "a permanent error is not retried")
        }
    }

    @Test("Two 503s then rates: succeeds with three requests counted")
    func retriesTransientFailures() async throws {
        try await withStub { stub, http in
            stub.controls.failNext(2, on: .rates, status: 503)
            let body = try await RatesProvider(http: http, settings: settings(stub, attempts: 3)).latest(base: "USD")
            #expect(body == StubData.ratesBody(base: "USD"))
            #expect(stub.controls.requests(.rates) == 3)
        }
    }

    @Test("Always 503: unavailable after the configured attempts, the run may fall back")
    func downIsUnavailable() async throws {
        try await withStub { stub, http in
            stub.controls.ratesDown = true
            let provider = RatesProvider(http: http, settings: settings(stub, attempts: 4))
            let error = try await #require(throws: ProviderError.self) { try await provider.latest(base: "USD") }
            #expect(error.kind == .unavailable)
            #expect(error.isUnavailable)
            #expect(error.attempts == 4)
            #expect(error.underlying?.kind == .status(503))
            #expect("\(error)".hasPrefix("rate provider at \(stub.baseURL)/latest?base=USD: unavailable after 4 attempts: status 503"))
            #expect(stub.controls.requests(.rates) == 4)
        }
    }

    @Test("429 with Retry-After: 1 waits about a second before the next attempt")
    func honoursRetryAfter() async throws {
        try await withStub { stub, http in
            stub.controls.failNext(1, on: .rates, status: 429, retryAfter: 1)
            let provider = RatesProvider(http: http, settings: settings(stub))
            let (result, seconds) = await timed { try await provider.latest(base: "GBP") }
            let body = try result.get()
            #expect(body == StubData.ratesBody(base: "GBP"))
            #expect(seconds >= 0.95, "waited \(seconds) s; the backoff alone is 10 ms, Retry-After says 1 s")
            #expect(stub.controls.requests(.rates) == 2)
        }
    }

    @Test("Nobody listening: unavailable (connect errors are retried)")
    func refusedIsUnavailable() async throws {
        let stub = try await ProviderStub.start()
        await stub.stop()
        let http = HTTPClient()
        let provider = RatesProvider(http: http, settings: settings(stub, attempts: 2))
        let (result, _) = await timed { try await provider.latest(base: "USD") }
        await http.shutdown()
        let error = try #require(throws: ProviderError.self) { try result.get() }
        #expect(error.kind == .unavailable)
        #expect(error.attempts == 2)
        #expect(error.underlying?.kind == .connect)
    }

    @Test("A slow provider times out per attempt and is unavailable")
    func timeoutIsUnavailable() async throws {
        try await withStub { stub, http in
            stub.controls.delay = .seconds(2)
            let provider = RatesProvider(http: http, settings: settings(stub, attempts: 2, timeout: .milliseconds(300)))
            let (result, _) = await timed { try await provider.latest(base: "USD") }
            let error = try #require(throws: ProviderError.self) { try result.get() }
            #expect(error.kind == .unavailable)
            #expect(error.underlying?.kind == .timeout)
            // Counted by the client: on a busy machine the stub may not see a request that timed
            // out before it was read.
            #expect(error.attempts == 2)
        }
    }

    @Test("An unknown base is the provider's 404: permanent, not retried")
    func unknownBaseIsPermanent() async throws {
        try await withStub { stub, http in
            let provider = RatesProvider(http: http, settings: settings(stub))
            let error = try await #require(throws: ProviderError.self) { try await provider.latest(base: "XYZ") }
            #expect(error.kind == .invalidResponse)
            #expect(error.underlying?.kind == .status(404))
            #expect("\(error)".contains("status 404"))
            #expect(stub.controls.requests(.rates) == 1)
        }
    }

    @Test("A base that is not three letters is refused before any request")
    func invalidBaseIsRefused() async throws {
        try await withStub { stub, http in
            let provider = RatesProvider(http: http, settings: settings(stub))
            for base in ["US", "USDX", "U$D", ""] {
                let error = try await #require(throws: ProviderError.self) { try await provider.latest(base: base) }
                #expect(error.kind == .invalidRequest)
            }
            #expect(stub.controls.requests(.rates) == 0)
        }
    }

    @Test(
        "Bodies that are not Frankfurter rates are refused with the reason",
        arguments: [
            ("not json", "the body is not JSON"),
            ("[1, 2]", "the body is not a JSON object"),
            ("{\"base\": \"USD\"}", "no \"rates\" field"),
            ("{\"base\": 1, \"rates\": {}}", "\"base\" is not a string"),
            ("{\"base\": \"USD\", \"rates\": [1]}", "\"rates\" is not a JSON object"),
        ])
    func nonsenseIsRefused(body: String, reason: String) throws {
        let error = try #require(throws: ProviderError.self) {
            try RatesProvider.check(Array(body.utf8), base: "USD", url: "http://u:p@rates.example/latest?base=USD")
        }
        #expect(error.kind == .invalidResponse)
        #expect("\(error)" == "rate provider at http://rates.example/latest?base=USD: answered nonsense: \(reason)")
    }

    @Test("Numbers are never reparsed: exotic but valid JSON numbers pass unchanged")
    func numbersPassUnchanged() throws {
        let body = "{\"amount\":1.0,\"base\":\"USD\",\"date\":\"2026-11-23\",\"rates\":{\"EUR\":0.92340000000000000000001,\"JPY\":1.5137420E2}}"
        #expect(try RatesProvider.check(Array(body.utf8), base: "USD", url: "u") == body)
    }
}
