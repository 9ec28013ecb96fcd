import HTTPClient
import Testing

@Suite("HTTPClientError")
struct HTTPClientErrorTests {
    @Test("Credentials in the URL never reach the error, and description leaves out the query")
    func urlIsRedacted() async throws {
        let url = "http://user:s3cret@127.0.0.1:\(try Loopback.closedPort())/path?token=abc"
        let error = try await withClient { client in
            try await #require(throws: HTTPClientError.self) { try await client.execute(HTTPRequest(url: url)) }
        }
        #expect(!error.url.contains("s3cret"))
        #expect(error.url.hasSuffix("/path?token=abc"))
        #expect(!error.description.contains("token"))
        #expect(error.debugDescription.contains("token=abc"))
    }

    @Test("Headers keep order and duplicates, and look up any case")
    func headers() {
        var headers: HTTPHeaders = ["Accept": "a", "X-Id": "1"]
        headers.add("accept", "b")
        #expect(headers["ACCEPT"] == "a")
        #expect(headers.values(for: "Accept") == ["a", "b"])
        headers.set("x-id", "2")
        #expect(headers.map(\.name) == ["Accept", "accept", "x-id"])
        headers.remove("ACCEPT")
        #expect(headers.count == 1)
    }
}
