extension HTTPClient {
    /// Sends the request, retrying transient failures per `policy` (any method: pass a policy only when
    /// repeating the request is safe); the final error lists the earlier attempts' errors.
    public func execute(_ request: HTTPRequest, retry policy: RetryPolicy) async throws -> HTTPResponse {
        var failures: [HTTPClientError] = []
        while true {
            do {
                return try await execute(request)
            } catch var error as HTTPClientError {
                guard error.isTransient, failures.count + 1 < policy.maxAttempts else {
                    error.earlierAttempts = failures
                    throw error
                }
                failures.append(error)
                // Task.sleep suspends without holding a thread, and throws CancellationError if cancelled.
                try await Task.sleep(for: policy.delay(afterAttempt: failures.count, retryAfter: error.retryAfter))
            }
        }
    }
}
