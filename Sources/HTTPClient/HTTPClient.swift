import Synchronization

/// An async HTTP client over libcurl: one background thread drives every request concurrently.
///
/// Create one per process (or per subsystem) and share it; `shutdown()` when done. Requests
/// never block Swift's cooperative thread pool: they wait on a continuation the curl thread resumes.
public final class HTTPClient: Sendable {
    private let loop: CurlLoop
    private let lastID = Atomic<UInt64>(0)

    /// Starts the client's curl thread.
    public init() {
        loop = CurlLoop()
    }

    deinit {
        // In-flight requests keep the client alive, so by now nothing is waiting; stop the thread.
        loop.requestStop()
    }

    /// Sends the request and returns the whole response; throws `HTTPClientError`, or
    /// `CancellationError` when the calling task is cancelled (the transfer is aborted).
    public func execute(_ request: HTTPRequest) async throws -> HTTPResponse {
        try Task.checkCancellation()
        let id = lastID.wrappingAdd(1, ordering: .relaxed).newValue
        let cancellation = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                loop.submit(Submission(id: id, request: request, cancellation: cancellation, continuation: continuation))
            }
        } onCancel: {
            // Flag first: if the loop has not seen the submission yet, it checks the flag when it does.
            cancellation.raise()
            loop.cancel(id: id)
        }
    }

    /// Fails every request in flight (kind `.cancelled`), stops the curl thread, and returns when it has.
    public func shutdown() async {
        loop.requestStop()
        await loop.waitUntilStopped()
    }
}

extension HTTPClient {
    /// `HTTPRequest`, spelled so it stays unambiguous where Hummingbird's `HTTPRequest` is also imported.
    public typealias Request = HTTPRequest
    /// `HTTPResponse`, spelled so it stays unambiguous where Hummingbird's `HTTPResponse` is also imported.
    public typealias Response = HTTPResponse
}
