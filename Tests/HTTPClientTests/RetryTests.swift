import Foundation
import HTTPClient
import Testing

@Suite("Retrying transient failures")
struct RetryTests {
    /// Tiny delays keep the suite fast; the policy's arithmetic is checked separately below.
    private let fast = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10), multiplier: 2, maxDelay: .milliseconds(50), jitter: false)

    @Test("Two 503s then 200 succeeds on the third attempt")
    func succeedsAfterTransientFailures() async throws {
        let key = UUID().uuidString
        let request = HTTPRequest(url: try await TestServer.url("/flaky/\(key)?failures=2&status=503"))
        let response = try await withClient { client in try await client.execute(request, retry: fast) }
        #expect(response.status == 200)
        #expect(response.text == "ok after 3 hits")
        #expect(await TestServer.hits(key) == 3)
    }

    @Test("A 400 is not retried")
    func permanentErrorIsNotRetried() async throws {
        let key = UUID().uuidString
        let request = HTTPRequest(url: try await TestServer.url("/flaky/\(key)?failures=5&status=400"))
        let error = try await withClient { client in
            try await #require(throws: HTTPClientError.self) { try await client.execute(request, retry: fast) }
        }
        #expect(error.kind == .status(400))
        #expect(error.attemptCount == 1)
        #expect(await TestServer.hits(key) == 1)
    }

    @Test("Giving up reports every attempt's error")
    func exhaustedAttemptsAreReported() async throws {
        let key = UUID().uuidString
        let request = HTTPRequest(url: try await TestServer.url("/flaky/\(key)?failures=10&status=429"))
        let error = try await withClient { client in
            try await #require(throws: HTTPClientError.self) { try await client.execute(request, retry: fast) }
        }
        #expect(error.kind == .status(429))
        #expect(error.attemptCount == 3)
        #expect(error.earlierAttempts.map(\.kind) == [.status(429), .status(429)])
        #expect(await TestServer.hits(key) == 3)
    }

    @Test("Retry-After is honoured but capped by maxDelay")
    func retryAfterIsCapped() async throws {
        let key = UUID().uuidString
        let request = HTTPRequest(url: try await TestServer.url("/flaky/\(key)?failures=1&status=503&retryAfter=60"))
        let policy = RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(10), maxDelay: .milliseconds(300), jitter: false)
        let (result, seconds) = try await withClient { client in
            await Loopback.timed { try await client.execute(request, retry: policy) }
        }
        #expect(try result.get().status == 200)
        #expect(seconds >= 0.28 && seconds < 5, "waited \(seconds) s: Retry-After 60 s capped to 0.3 s")
    }

    @Test("Backoff grows by the multiplier, stops at maxDelay, and jitter stays in the upper half")
    func backoffArithmetic() {
        let policy = RetryPolicy(baseDelay: .seconds(1), multiplier: 2, maxDelay: .seconds(5), jitter: false)
        #expect(policy.delay(afterAttempt: 1) == .seconds(1))
        #expect(policy.delay(afterAttempt: 2) == .seconds(2))
        #expect(policy.delay(afterAttempt: 3) == .seconds(4))
        #expect(policy.delay(afterAttempt: 4) == .seconds(5))
        #expect(policy.delay(afterAttempt: 200) == .seconds(5))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(3)) == .seconds(3))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(60)) == .seconds(5))
        let jittered = RetryPolicy(baseDelay: .seconds(2), jitter: true)
        for _ in 0..<100 {
            let delay = jittered.delay(afterAttempt: 1)
            #expect(delay >= .seconds(1) && delay <= .seconds(2))
        }
    }
}
