import Hummingbird

/// An error that becomes an HTTP response with the envelope
/// `{"data": null, "error": {"code": "...", "message": "..."}}`.
public struct APIError: Error, Sendable, CustomStringConvertible {
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

    public init(_ status: HTTPResponse.Status, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public static func badRequest(_ message: String, code: String = "bad_request") -> APIError {
        APIError(.badRequest, code: code, message: message)
    }

    public static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, code: "unauthorized", message: message)
    }

    public static func forbidden(_ message: String) -> APIError {
        APIError(.forbidden, code: "forbidden", message: message)
    }

    public static func notFound(_ message: String) -> APIError {
        APIError(.notFound, code: "not_found", message: message)
    }

    public static func conflict(_ message: String) -> APIError {
        APIError(.conflict, code: "conflict", message: message)
    }

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
