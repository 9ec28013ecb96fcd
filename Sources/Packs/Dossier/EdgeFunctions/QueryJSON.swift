import Engine
import Postgres

/// Runs a query whose one row holds one JSON document (`…::text`) and returns it.
func queryJSON(_ database: some PostgresQuerying, _ query: PostgresQuery) async throws -> JSONValue {
    try JSONValue(json: try await database.query(query)[0].decode(String.self, at: 0))
}
