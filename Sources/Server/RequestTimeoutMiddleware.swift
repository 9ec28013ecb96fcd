import Hummingbird

/// Ends a request that takes longer than `timeout` (its body read and its handler run) with
/// 503: the handler's task is cancelled, and with it any database statement it is waiting on.
struct RequestTimeoutMiddleware<Context: RequestContext>: RouterMiddleware {
    let timeout: Duration

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await withoutActuallyEscaping(next) { next in
            let handler = Handler(call: next)
            return try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask { try await handler.call(request, context) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let response = first else {
                    throw APIError.unavailable("the request took longer than \(timeout) and was stopped", code: "timeout")
                }
                return response
            }
        }
    }

    /// `next`, handed to the group's child task. Safe without checking: the child calls it once,
    /// and the task group does not return (nor does `withoutActuallyEscaping`) before that child
    /// has finished, so the closure is never used concurrently nor after this request.
    private struct Handler: @unchecked Sendable {
        let call: (Request, Context) async throws -> Response
    }
}
