/// Runs one query: a pool, or an API request's access to one under the caller's role.
public protocol PostgresQuerying: Sendable {
    /// Runs `query` with its values bound as parameters and returns every row; throws the
    /// `PostgresError` the server raised (SQLSTATE, message, detail) or a connection error.
    @discardableResult
    func query(_ query: PostgresQuery) async throws -> PostgresRows
}

extension PostgresPool: PostgresQuerying {}
