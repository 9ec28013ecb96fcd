extension PostgresConnection {
    /// Asks the server to cancel the statement this connection is running (libpq's `PQcancel`),
    /// from any thread. Returns whether the request was delivered; the statement then fails with
    /// SQLSTATE 57014, which the pool reports as `CancellationError` when its caller was cancelled.
    @discardableResult
    public nonisolated func requestCancel() -> Bool {
        canceller.request()
    }
}

/// Runs `body` on `connection`; when the calling task is cancelled meanwhile, the statement running
/// on the connection is cancelled on the server, so a blocked libpq call returns at once instead of
/// holding a shutdown (or a timed-out caller) until the statement ends by itself.
func cancellingOnTaskCancel<Result>(
    _ connection: PostgresConnection,
    isolation: isolated (any Actor)? = #isolation,
    _ body: () async throws -> Result
) async throws -> Result {
    do {
        return try await withTaskCancellationHandler {
            try await body()
        } onCancel: {
            connection.requestCancel()
        }
    } catch let error as PostgresError where error.sqlState == "57014" && Task.isCancelled {
        throw CancellationError()
    }
}
