import HTTPClient
import Testing

@Suite("Concurrency, cancellation and shutdown")
struct ConcurrencyTests {
    @Test("50 concurrent requests all succeed, in parallel rather than one by one")
    func manyConcurrentRequests() async throws {
        let url = try await TestServer.url("/slow?ms=300")
        let (result, seconds) = try await withClient { client in
            await Loopback.timed {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<50 {
                        group.addTask { try await client.execute(HTTPRequest(url: url)).status }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
            }
        }
        let statuses = try result.get()
        #expect(statuses.count == 50)
        #expect(statuses.allSatisfy { $0 == 200 })
        #expect(seconds < 5, "50 × 0.3 s took \(seconds) s: requests did not overlap")
    }

    @Test("Cancelling the awaiting task aborts a slow transfer and throws CancellationError quickly")
    func cancellation() async throws {
        let url = try await TestServer.url("/slow?ms=10000")
        try await withClient { client in
            let (result, seconds) = await Loopback.timed {
                let task = Task { try await client.execute(HTTPRequest(url: url)) }
                try await Task.sleep(for: .milliseconds(200))
                task.cancel()
                return try await task.value
            }
            #expect(throws: CancellationError.self) { try result.get() }
            #expect(seconds < 2, "cancellation took \(seconds) s")
        }
    }

    @Test("A request from an already-cancelled task throws CancellationError without sending")
    func alreadyCancelled() async throws {
        let url = try await TestServer.url("/echo")
        try await withClient { client in
            let task = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await client.execute(HTTPRequest(url: url))
            }
            await #expect(throws: CancellationError.self) { try await task.value }
        }
    }

    @Test("shutdown() fails in-flight requests with .cancelled, and later requests too")
    func shutdownFailsInFlight() async throws {
        let url = try await TestServer.url("/slow?ms=10000")
        let client = HTTPClient()
        let inFlight = Task { try await client.execute(HTTPRequest(url: url)) }
        try await Task.sleep(for: .milliseconds(200))
        let (_, seconds) = await Loopback.timed { await client.shutdown() }
        #expect(seconds < 2)
        let error = try await #require(throws: HTTPClientError.self) { try await inFlight.value }
        #expect(error.kind == .cancelled)
        #expect(!error.isTransient)
        let late = try await #require(throws: HTTPClientError.self) { try await client.execute(HTTPRequest(url: url)) }
        #expect(late.kind == .cancelled)
    }

    @Test("A client dropped without shutdown() stops its thread without crashing")
    func deinitWithoutShutdown() async throws {
        let url = try await TestServer.url("/echo")
        for _ in 0..<20 {
            let client = HTTPClient()
            #expect(try await client.execute(HTTPRequest(url: url)).status == 200)
        }
    }
}
