/// Every failure of an HTTP exchange: what went wrong, on which request, and whether retrying may help.
public struct HTTPClientError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Hashable {
        /// No connection: refused, host unreachable, or the name did not resolve.
        case connect
        /// The connect timeout or the total timeout ran out.
        case timeout
        /// The server answered with a status outside 200–399.
        case status(Int)
        /// The response body grew past the request's `maxResponseBytes`.
        case responseTooLarge
        /// The TLS handshake failed or the certificate did not verify.
        case tls
        /// The request cannot be sent as given (bad URL, scheme, header or option).
        case invalidRequest
        /// Any other libcurl failure, with its `CURLcode`.
        case transport(Int)
        /// The client was shut down while the request was pending.
        case cancelled
        /// The body did not decode as the requested type.
        case decoding
    }

    /// What went wrong.
    public var kind: Kind
    /// The request's method.
    public var method: HTTPMethod
    /// The request's URL with any user info (credentials) removed.
    public var url: String
    /// The response status, when a response arrived.
    public var status: Int?
    /// The first ~512 bytes of the response body, invalid UTF-8 replaced.
    public var bodyExcerpt: String?
    /// What this client or libcurl says happened, in a sentence.
    public var message: String
    /// libcurl's detailed error text (`CURLOPT_ERRORBUFFER`), when it wrote one.
    public var curlMessage: String?
    /// How long the server asked to wait (`Retry-After` in seconds on a 429 or 503).
    public var retryAfter: Duration?
    /// The errors of earlier attempts when `execute(_:retry:)` gave up, oldest first.
    public var earlierAttempts: [HTTPClientError] = []

    /// How many attempts ended in error, this one included.
    public var attemptCount: Int { earlierAttempts.count + 1 }

    /// Whether the same request may succeed later: network trouble, timeouts, 429 and 5xx.
    public var isTransient: Bool {
        switch kind {
        case .connect, .timeout:
            true
        case .status(let code):
            code == 429 || (500...599).contains(code)
        case .transport(let code):
            Self.transientCurlCodes.contains(code)
        case .responseTooLarge, .tls, .invalidRequest, .cancelled, .decoding:
            false
        }
    }

    /// How many body bytes an error keeps: enough to read a JSON error, little enough for a log line.
    static let excerptLimit = 512

    /// Connection dropped mid-exchange: partial body (18), empty reply (52), send (55) and receive (56)
    /// errors, and HTTP/2 framing or stream resets (16, 92), which a new connection usually cures.
    static let transientCurlCodes: Set<Int> = [16, 18, 52, 55, 56, 92]

    init(
        kind: Kind,
        method: HTTPMethod,
        url: String,
        status: Int? = nil,
        body: [UInt8]? = nil,
        message: String,
        curlMessage: String? = nil,
        retryAfter: Duration? = nil
    ) {
        self.kind = kind
        self.method = method
        self.url = Self.redacted(url)
        self.status = status
        self.bodyExcerpt = body.flatMap { $0.isEmpty ? nil : String(decoding: $0.prefix(Self.excerptLimit), as: UTF8.self) }
        self.message = message
        self.curlMessage = curlMessage.flatMap { $0.isEmpty ? nil : $0 }
        self.retryAfter = retryAfter
    }

    /// Kind, method and URL without its query: safe for logs (the query and body may hold data).
    public var description: String {
        "HTTPClientError.\(kind): \(method.rawValue) \(Self.withoutQuery(url))"
    }

    /// Everything known, for debugging: message, curl's text, status, body excerpt and earlier attempts.
    public var debugDescription: String {
        var text = "HTTPClientError.\(kind): \(method.rawValue) \(url): \(message)"
        if let curlMessage { text += " (curl: \(curlMessage))" }
        if let status { text += ", status \(status)" }
        if let bodyExcerpt { text += ", body: \(bodyExcerpt)" }
        if !earlierAttempts.isEmpty {
            text += ", after \(attemptCount) attempts; earlier: "
            text += earlierAttempts.map { "\($0.kind)" }.joined(separator: ", ")
        }
        return text
    }

    /// The URL with `user:password@` removed from its authority.
    static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<schemeEnd.upperBound]) + rest[rest.index(after: at)...]
    }

    /// The URL without its query string and fragment.
    static func withoutQuery(_ url: String) -> String {
        String(url.prefix { $0 != "?" && $0 != "#" })
    }
}
