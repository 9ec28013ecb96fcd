import HTTPClient

/// A market-data provider call that failed, classified by what the caller should do about it.
///
/// `description` reads "rate provider at <url>: <reason>" (or "price provider ..."); the URL
/// carries no credentials. `underlying` keeps the HTTP error, if there was one, for logs.
public struct ProviderError: Error, Sendable, CustomStringConvertible {
    /// What the failure means for the job.
    public enum Kind: Sendable, Hashable {
        /// The provider could not be reached or kept answering 429/5xx or timing out, and the
        /// retries ran out: worth trying later; for rates, the job falls back to stored rates.
        case unavailable
        /// The provider answered, but not usefully (a 4xx, a body that is not the documented
        /// JSON, another base than asked): retrying the same request will not help.
        case invalidResponse
        /// The request could not be made as configured or given (bad URL or scheme, TLS
        /// verification failed, an invalid base or symbol): a configuration or data error.
        case invalidRequest
    }

    /// Which provider failed.
    public enum Provider: String, Sendable, Hashable {
        case rates = "rate provider"
        case prices = "price provider"
    }

    /// What the failure means for the job.
    public var kind: Kind
    /// Which provider failed.
    public var provider: Provider
    /// The URL asked (credentials removed; for prices, without the symbol list).
    public var url: String
    /// What went wrong, in a sentence.
    public var reason: String
    /// How many requests the HTTP client sent before it gave up; 0 when it did not give up (the
    /// request could not be made, or an answer arrived and was refused).
    public var attempts: Int
    /// The HTTP client's error, when the failure was one.
    public var underlying: HTTPClientError?

    /// Whether the provider is down (retries exhausted): the only kind a later retry may cure.
    public var isUnavailable: Bool { kind == .unavailable }

    /// An error.
    public init(kind: Kind, provider: Provider, url: String, reason: String, attempts: Int, underlying: HTTPClientError? = nil) {
        self.kind = kind
        self.provider = provider
        self.url = Self.redacted(url)
        self.reason = reason
        self.attempts = attempts
        self.underlying = underlying
    }

    /// "rate provider at http://host/latest?base=USD: unavailable after 4 attempts: status 503".
    public var description: String {
        "\(provider.rawValue) at \(url): \(reason)"
    }

    /// Classifies an error of `execute(_:retry:)` (which already retried the transient ones).
    init(provider: Provider, url: String, http error: HTTPClientError) {
        let what = Self.summary(error)
        let kind: Kind
        let reason: String
        switch error.kind {
        case _ where error.isTransient:
            kind = .unavailable
            reason = "unavailable after \(error.attemptCount) attempt\(error.attemptCount == 1 ? "" : "s"): \(what)"
        case .status, .responseTooLarge, .decoding:
            kind = .invalidResponse
            reason = "answered nonsense: \(what)"
        default:
            kind = .invalidRequest
            reason = "cannot be asked: \(what)"
        }
        self.init(kind: kind, provider: provider, url: url, reason: reason, attempts: error.attemptCount, underlying: error)
    }

    /// `url` without `user:password@` in its authority: errors end up in logs and run metrics.
    static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<schemeEnd.upperBound]) + rest[rest.index(after: at)...]
    }

    /// The HTTP error in a few words, with a short body excerpt for a status.
    private static func summary(_ error: HTTPClientError) -> String {
        switch error.kind {
        case .status(let code):
            let excerpt = error.bodyExcerpt.map { ", body: " + String($0.prefix(200)) } ?? ""
            return "status \(code)\(excerpt)"
        case .timeout:
            return "timed out (\(error.message))"
        case .connect:
            return "cannot connect (\(error.curlMessage ?? error.message))"
        case .responseTooLarge:
            return "response too large"
        default:
            return error.curlMessage.map { "\(error.message) (\($0))" } ?? error.message
        }
    }
}
