import HTTPClient
import Testing

@Suite("Error statuses")
struct StatusTests {
    @Test("404 throws a permanent .status error with the status and a body excerpt")
    func notFoundIsPermanent() async throws {
        let url = try await TestServer.url("/status/404?pad=2000")
        let error = try await withClient { client in
            try await #require(throws: HTTPClientError.self) { try await client.execute(HTTPRequest(url: url)) }
        }
        #expect(error.kind == .status(404))
        #expect(error.status == 404)
        #expect(!error.isTransient)
        let excerpt = try #require(error.bodyExcerpt)
        #expect(excerpt.hasPrefix("{\"error\":\"status 404\"}"))
        #expect(excerpt.utf8.count == 512, "the excerpt is cut, not the whole 2 kB body")
        #expect(error.method == .get)
        #expect(error.url == url)
    }

    @Test("429 and 5xx statuses are transient", arguments: [429, 500, 502, 503, 504])
    func retryableStatusesAreTransient(code: Int) async throws {
        let url = try await TestServer.url("/status/\(code)")
        let error = try await withClient { client in
            try await #require(throws: HTTPClientError.self) { try await client.execute(HTTPRequest(url: url)) }
        }
        #expect(error.kind == .status(code))
        #expect(error.isTransient)
    }

    @Test("Other 4xx statuses are permanent", arguments: [400, 401, 403, 409, 422])
    func clientErrorsArePermanent(code: Int) async throws {
        let url = try await TestServer.url("/status/\(code)")
        let error = try await withClient { client in
            try await #require(throws: HTTPClientError.self) { try await client.execute(HTTPRequest(url: url)) }
        }
        #expect(error.kind == .status(code))
        #expect(!error.isTransient)
    }

    @Test("Retry-After seconds on a 503 are recorded on the error")
    func retryAfterIsParsed() async throws {
        let url = try await TestServer.url("/status/503?retryAfter=7")
        let error = try await withClient { client in
            try await #require(throws: HTTPClientError.self) { try await client.execute(HTTPRequest(url: url)) }
        }
        #expect(error.retryAfter == .seconds(7))
    }

    @Test("throwOnErrorStatus = false returns the error response for inspection")
    func optOutReturnsResponse() async throws {
        var request = HTTPRequest(url: try await TestServer.url("/status/404"))
        request.throwOnErrorStatus = false
        let response = try await withClient { client in try await client.execute(request) }
        #expect(response.status == 404)
        #expect(response.text == "{\"error\":\"status 404\"}")
    }
}
