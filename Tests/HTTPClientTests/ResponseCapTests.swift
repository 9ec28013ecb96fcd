import Foundation
import HTTPClient
import Testing

/// `maxResponseBytes` against a real server: the transfer is cut off at the cap, and the error
/// still says what the server answered, so a caller can tell "accepted, but wordy" from a failure.
@Suite("The response body cap")
struct ResponseCapTests {
    @Test("A body over the cap keeps the response's status, whether Content-Length or the running count caught it",
          arguments: [("/status/200?pad=100000", 200), ("/stream?count=100000", 200), ("/status/503?pad=100000", 503), ("/status/404?pad=100000", 404)])
    func statusIsKept(path: String, status: Int) async throws {
        var request = HTTPRequest(url: try await TestServer.url(path))
        request.maxResponseBytes = 64 * 1024
        let error = try await withClient { client in
            try await #require(throws: HTTPClientError.self) { try await client.execute(request) }
        }
        #expect(error.kind == .responseTooLarge)
        #expect(error.status == status)
        #expect(error.message == "the response body exceeded maxResponseBytes (65536 bytes)")
    }

    @Test("An endless body is cut off at the cap, long before the request's timeout")
    func endlessBodyIsCutOff() async throws {
        var request = HTTPRequest(url: try await TestServer.url("/endless"))
        request.maxResponseBytes = 64 * 1024
        request.timeout = .seconds(15)
        let (result, seconds) = try await withClient { client in
            await Loopback.timed { try await client.execute(request) }
        }
        let error = try #require(throws: HTTPClientError.self) { try result.get() }
        // Reading on and throwing the bytes away would end in .timeout after 15 s instead.
        #expect(error.kind == .responseTooLarge)
        #expect(error.status == 200)
        #expect(seconds < 10, "took \(seconds) s")
    }
}
