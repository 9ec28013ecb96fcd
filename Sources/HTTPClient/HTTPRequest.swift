import Foundation

/// One HTTP request: what to send and the limits that apply while sending it.
public struct HTTPRequest: Sendable {
    /// The request method.
    public var method: HTTPMethod
    /// An absolute `http://` or `https://` URL; other schemes are refused.
    public var url: String
    /// Header fields sent in this order.
    public var headers: HTTPHeaders
    /// The request body; empty means none (POST/PUT/PATCH then send `Content-Length: 0`).
    public var body: [UInt8]
    /// How long establishing the connection (DNS, TCP, TLS) may take.
    public var connectTimeout: Duration = .seconds(5)
    /// How long the whole exchange may take, connect included.
    public var timeout: Duration = .seconds(30)
    /// The largest response body accepted; the transfer is aborted as soon as it grows past this.
    public var maxResponseBytes: Int = 10 * 1024 * 1024
    /// Whether the server's certificate and host name are verified; turning this off is for tests only.
    public var verifyTLS: Bool = true
    /// How many redirects are followed; 0 (the default) hands 3xx responses back to the caller.
    public var maxRedirects: Int = 0
    /// Whether a status outside 200–399 throws `HTTPClientError` (kind `.status`) instead of returning.
    public var throwOnErrorStatus: Bool = true

    /// A request with raw body bytes.
    public init(method: HTTPMethod = .get, url: String, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// A request whose body is `value` as JSON, with `Content-Type: application/json` unless one is given.
    public init<Body: Encodable>(
        method: HTTPMethod = .post,
        url: String,
        headers: HTTPHeaders = [:],
        json value: Body,
        encoder: JSONEncoder = JSONEncoder()
    ) throws {
        self.init(method: method, url: url, headers: headers, body: Array(try encoder.encode(value)))
        if !self.headers.contains("Content-Type") {
            self.headers.add("Content-Type", "application/json")
        }
    }
}
