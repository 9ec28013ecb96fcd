import Hummingbird

/// An error that becomes an HTTP response with the envelope
/// `{"data": null, "error": {"code": "...", "message": "..."}}`.
public struct APIError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status of the response.
    public let status: HTTPResponse.Status
    /// A stable machine-readable code (`unauthorized`, `invalid_json`, …).
    public let code: String
    /// A sentence for a person: what was wrong and where.
    public let message: String
    /// Response headers the error calls for (`Allow`, `Retry-After`).
    public var headers: HTTPFields = [:]
    /// Machine-readable facts about the error, written inside the envelope's `error` object
    /// (the envelope's `data` is always null on an error).
    public var details: [String: String] = [:]

    /// An error with any status; prefer the named constructors below, which keep codes consistent.
    public init(_ status: HTTPResponse.Status, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// 400: the request is malformed or fails validation; `code` (default `bad_request`) narrows
    /// it, as `invalid_json` and `invalid_body` do, for clients that branch on it.
    public static func badRequest(_ message: String, code: String = "bad_request") -> APIError {
        APIError(.badRequest, code: code, message: message)
    }

    /// 401 `unauthorized`: no token where one is required, or one that does not verify; the
    /// message says which check failed, so a caller can fix its token.
    public static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, code: "unauthorized", message: message)
    }

    /// 403 `forbidden`: a verified caller whose role may not do this.
    public static func forbidden(_ message: String) -> APIError {
        APIError(.forbidden, code: "forbidden", message: message)
    }

    /// 404 `not_found`: no such route, function or row. Under row-level security a row the caller
    /// may not see is absent, so it gets this too, and learns nothing of the row.
    public static func notFound(_ message: String) -> APIError {
        APIError(.notFound, code: "not_found", message: message)
    }

    /// 409 `conflict`: the request clashes with the current state (something that exists already,
    /// or a change the row's state no longer allows).
    public static func conflict(_ message: String) -> APIError {
        APIError(.conflict, code: "conflict", message: message)
    }

    /// 413 `payload_too_large`: the body is over `limit` bytes (`[api] max_body_bytes`).
    public static func payloadTooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "payload_too_large", message: "request body exceeds the limit of \(limit) bytes")
    }

    /// 503, with `Retry-After` (every 503 says when to come back).
    public static func unavailable(_ message: String, code: String = "unavailable", retryAfterSeconds: Int = 1) -> APIError {
        var error = APIError(.serviceUnavailable, code: code, message: message)
        error.headers[.retryAfter] = "\(retryAfterSeconds)"
        return error
    }
}
