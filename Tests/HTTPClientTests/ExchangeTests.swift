import Foundation
import HTTPClient
import Testing

@Suite("Requests and responses over loopback")
struct ExchangeTests {
    @Test("GET sends its headers in order and returns status, headers and body")
    func getEchoesHeaders() async throws {
        let response = try await withClient { client in
            try await client.execute(HTTPRequest(
                url: try await TestServer.url("/echo"),
                headers: ["X-Trace": "abc", "X-Multi": "one", "x-multi": "two"]
            ))
        }
        #expect(response.status == 200)
        #expect(response.headers["x-echo-server"] == "hummingbird", "header lookup ignores case")
        #expect(response.headers["CONTENT-TYPE"] == "application/json")
        let echo = try response.decode(as: Echo.self)
        #expect(echo.method == "GET")
        #expect(echo.headers["x-trace"] == "abc")
        #expect(echo.headers["x-multi"] == "one, two", "repeated fields are all sent, in order")
        #expect(echo.body.isEmpty)
    }

    @Test("POST sends its body bytes and no invented Content-Type")
    func postEchoesBody() async throws {
        let echo = try await withClient { client in
            try await client.execute(HTTPRequest(
                method: .post,
                url: try await TestServer.url("/echo"),
                headers: ["X-Request-Id": "42"],
                body: Array("hello, \u{1F319} night".utf8)
            )).decode(as: Echo.self)
        }
        #expect(echo.method == "POST")
        #expect(echo.body == "hello, \u{1F319} night")
        #expect(echo.headers["x-request-id"] == "42")
        #expect(echo.headers["content-length"] == "\("hello, \u{1F319} night".utf8.count)")
        #expect(echo.headers["content-type"] == nil, "curl's form-urlencoded default is suppressed")
        #expect(echo.headers["expect"] == nil, "no 100-continue round trip")
    }

    @Test("PUT, PATCH and DELETE send their method and body", arguments: [HTTPMethod.put, .patch, .delete])
    func otherMethods(method: HTTPMethod) async throws {
        let echo = try await withClient { client in
            try await client.execute(HTTPRequest(
                method: method, url: try await TestServer.url("/echo"), body: Array("payload".utf8)
            )).decode(as: Echo.self)
        }
        #expect(echo.method == method.rawValue)
        #expect(echo.body == "payload")
    }

    @Test("A JSON request body round-trips and decodes into a Decodable type")
    func jsonRoundTrip() async throws {
        struct Job: Codable, Equatable { var name: String; var attempts: Int }
        let echo = try await withClient { client in
            try await client.execute(HTTPRequest(
                url: try await TestServer.url("/echo"), json: Job(name: "nightly", attempts: 3)
            )).decode(as: Echo.self)
        }
        #expect(echo.headers["content-type"] == "application/json")
        let sent = try JSONDecoder().decode(Job.self, from: Data(echo.body.utf8))
        #expect(sent == Job(name: "nightly", attempts: 3))
    }

    @Test("A body that is not the expected JSON fails with .decoding and an excerpt")
    func decodingFailureNamesTheBody() async throws {
        struct Job: Decodable { var name: String }
        let response = try await withClient { client in
            try await client.execute(HTTPRequest(url: try await TestServer.url("/bytes?count=20")))
        }
        let error = try #require(throws: HTTPClientError.self) { try response.decode(as: Job.self) }
        #expect(error.kind == .decoding)
        #expect(error.bodyExcerpt == String(repeating: "a", count: 20))
        #expect(error.message.contains("Job"))
        #expect(!error.isTransient)
    }

    @Test("Redirects are returned by default and followed only when allowed")
    func redirects() async throws {
        let url = try await TestServer.url("/redirect")
        let (returned, followed) = try await withClient { client in
            var follow = HTTPRequest(url: url)
            follow.maxRedirects = 2
            return (try await client.execute(HTTPRequest(url: url)), try await client.execute(follow))
        }
        #expect(returned.status == 302)
        #expect(returned.headers["location"] == "/echo")
        #expect(followed.status == 200)
        #expect(try followed.decode(as: Echo.self).method == "GET")
    }

    @Test("A header value with a line break is refused before anything is sent")
    func headerInjectionIsRefused() async throws {
        let url = try await TestServer.url("/echo")
        let error = try await withClient { client in
            try await #require(throws: HTTPClientError.self) {
                try await client.execute(HTTPRequest(url: url, headers: ["X-Evil": "a\r\nX-Injected: 1"]))
            }
        }
        #expect(error.kind == .invalidRequest)
        #expect(!error.isTransient)
    }

    @Test("A scheme other than http or https is refused as an invalid request")
    func otherSchemesAreRefused() async throws {
        let error = try await withClient { client in
            try await #require(throws: HTTPClientError.self) {
                try await client.execute(HTTPRequest(url: "file:///etc/passwd"))
            }
        }
        #expect(error.kind == .invalidRequest)
    }
}
