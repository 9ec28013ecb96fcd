import Foundation

/// A complete HTTP response: status, header fields and the whole body.
public struct HTTPResponse: Sendable {
    /// The status code of the final response (after any redirects followed).
    public var status: Int
    /// The final response's header fields; lookups ignore case.
    public var headers: HTTPHeaders
    /// The body, already decompressed if the server used a content encoding.
    public var body: [UInt8]
    /// The method of the request that produced this response.
    public var method: HTTPMethod
    /// The requested URL, user info removed (errors carry it).
    public var url: String

    /// A response; the client builds these, tests and fakes may too.
    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = [], method: HTTPMethod = .get, url: String = "") {
        self.status = status
        self.headers = headers
        self.body = body
        self.method = method
        self.url = HTTPClientError.redacted(url)
    }

    /// The body as text, invalid UTF-8 replaced rather than rejected.
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// Decodes the body as JSON; a failure throws `HTTPClientError` (kind `.decoding`) with a body excerpt.
    public func decode<T: Decodable>(as type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        do {
            return try decoder.decode(T.self, from: Data(body))
        } catch {
            throw HTTPClientError(
                kind: .decoding,
                method: method,
                url: url,
                status: status,
                body: body,
                message: "cannot decode \(T.self) from the response body: \(error)"
            )
        }
    }
}
