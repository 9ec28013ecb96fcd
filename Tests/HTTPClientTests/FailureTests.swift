import Foundation
import HTTPClient
import Testing

@Suite("Network failures and limits")
struct FailureTests {
    @Test("A refused connection is a transient .connect error")
    func connectionRefused() async throws {
        let url = "http://127.0.0.1:\(try Loopback.closedPort())/echo"
        let error = try await withClient { client in
            try await #require(throws: HTTPClientError.self) { try await client.execute(HTTPRequest(url: url)) }
        }
        #expect(error.kind == .connect)
        #expect(error.isTransient)
        #expect(error.status == nil)
        #expect(error.curlMessage != nil, "curl's error buffer text is kept")
    }

    @Test("A response slower than the total timeout fails with a transient .timeout near that time")
    func totalTimeout() async throws {
        var request = HTTPRequest(url: try await TestServer.url("/slow?ms=5000"))
        request.timeout = .milliseconds(500)
        let (result, seconds) = try await withClient { client in
            await Loopback.timed { try await client.execute(request) }
        }
        let error = try #require(throws: HTTPClientError.self) { try result.get() }
        #expect(error.kind == .timeout)
        #expect(error.isTransient)
        #expect(seconds >= 0.45 && seconds < 2.5, "took \(seconds) s for a 0.5 s timeout")
    }

    @Test("A body over maxResponseBytes fails with a permanent .responseTooLarge naming the cap",
          arguments: ["/bytes?count=5000", "/stream?count=50000"])
    func responseTooLarge(path: String) async throws {
        var request = HTTPRequest(url: try await TestServer.url(path))
        request.maxResponseBytes = 1000
        let error = try await withClient { client in
            try await #require(throws: HTTPClientError.self) { try await client.execute(request) }
        }
        #expect(error.kind == .responseTooLarge)
        #expect(!error.isTransient)
        #expect(error.message.contains("1000 bytes"))
    }

    @Test("A body of exactly maxResponseBytes is accepted whole")
    func responseAtTheCap() async throws {
        var request = HTTPRequest(url: try await TestServer.url("/stream?count=3000"))
        request.maxResponseBytes = 3000
        let response = try await withClient { client in try await client.execute(request) }
        #expect(response.body.count == 3000)
    }

    @Test("https:// to a plain-HTTP port fails with a permanent .tls error")
    func tlsToPlainPortFails() async throws {
        let url = try await TestServer.url("/echo").replacingOccurrences(of: "http://", with: "https://")
        let error = try await withClient { client in
            try await #require(throws: HTTPClientError.self) { try await client.execute(HTTPRequest(url: url)) }
        }
        #expect(error.kind == .tls)
        #expect(!error.isTransient)
    }
}
