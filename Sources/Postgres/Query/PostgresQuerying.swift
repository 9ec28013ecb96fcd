/// Runs one query: a pool, or an API request's access to one under the caller's role.
public protocol PostgresQuerying: Sendable {
    @discardableResult
    func query(_ query: PostgresQuery) async throws -> PostgresRows
}

extension PostgresPool: PostgresQuerying {}
