import HTTPClient

/// Why a delivery attempt failed, in the words stored in `notify.deliveries.last_error`, and
/// whether a later attempt may succeed. The text never holds the webhook URL: it may carry a
/// secret (which is why it stays in config).
struct DeliveryFailure: Error, Sendable {
    let message: String
    let statusCode: Int?
    let retriable: Bool

    init(message: String, statusCode: Int? = nil, retriable: Bool) {
        self.message = message
        self.statusCode = statusCode
        self.retriable = retriable
    }

    /// Transient per the HTTP client (connect errors, timeouts, 429, 5xx): retried; 4xx and
    /// the rest: permanent. A request cut short by the client shutting down is retried too:
    /// the receiver was not at fault.
    init(_ error: HTTPClientError) {
        switch error.kind {
        case .status(let code):
            // The start of the body: receivers usually say there what they disliked.
            let excerpt = error.bodyExcerpt.map { ": " + $0.prefix(200) } ?? ""
            self.init(message: "the webhook answered HTTP \(code)\(excerpt)", statusCode: code, retriable: error.isTransient)
        case .responseTooLarge where error.status != nil:
            // The status decides, as for any answer; the cut-off body is no reason of its own to give up.
            let code = error.status ?? 0
            let excerpt = error.bodyExcerpt.map { ": " + $0.prefix(200) } ?? ""
            self.init(
                message: "the webhook answered HTTP \(code) and \(error.message)\(excerpt)", statusCode: code,
                retriable: code == 429 || (500...599).contains(code))
        case .cancelled:
            self.init(message: "the dispatcher shut down during the request", retriable: true)
        default:
            // The curl text names at most the host and port, never the path or query.
            let detail = error.curlMessage.map { " (\($0))" } ?? ""
            self.init(message: "\(error.kind): \(error.message)\(detail)", statusCode: error.status, retriable: error.isTransient)
        }
    }

    /// A channel that has deliveries in the database but no webhook in this process's config.
    static func unconfigured(channel: String) -> DeliveryFailure {
        DeliveryFailure(
            message: "channel \"\(channel)\" is not configured: add [notifications.channels.\(channel)] webhook_url to the config",
            retriable: false)
    }

    /// A status the client returned rather than threw (1xx, 3xx): redirects are not followed.
    static func unexpected(status: Int) -> DeliveryFailure {
        DeliveryFailure(
            message: "the webhook answered HTTP \(status), not 2xx (redirects are not followed: configure the final URL)",
            statusCode: status, retriable: false)
    }
}
