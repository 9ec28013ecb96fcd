import CLibPQ

extension PostgresConnection {
    /// Runs `body` in a transaction: BEGIN, then COMMIT when it returns, or ROLLBACK and rethrow
    /// when it throws. The body runs isolated on the connection, so its queries need no extra hops.
    @discardableResult
    public func withTransaction<Result: Sendable>(
        _ body: @Sendable (isolated PostgresConnection) async throws -> Result
    ) async throws -> Result {
        guard !isInTransaction else {
            throw PostgresError(kind: .misuse, message: "withTransaction called while a transaction is open")
        }
        _ = try simpleQuery("BEGIN")
        let result: Result
        do {
            result = try await body(self)
        } catch {
            // The original error matters more than a failed ROLLBACK (e.g. the connection is gone).
            if isUsable { _ = try? simpleQuery("ROLLBACK") }
            throw error
        }
        try commit()
        return result
    }

    /// COMMIT, refusing to report success for a transaction the server already aborted: after a failed
    /// statement whose error the body caught, PostgreSQL answers COMMIT with ROLLBACK and no error.
    private func commit() throws {
        if let handle, PQtransactionStatus(handle) == PQTRANS_INERROR {
            _ = try simpleQuery("ROLLBACK")
            throw PostgresError(
                kind: .server,
                message: "the transaction was rolled back: a statement in it failed and the error was caught",
                sqlState: "25P02",
                query: "COMMIT"
            )
        }
        _ = try simpleQuery("COMMIT")
    }
}
