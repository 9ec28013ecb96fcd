import Foundation
import Postgres
import TestSupport

/// Opens a connection to the test database for the duration of `body`.
func withTestConnection<Result>(
    applicationName: String = "nightshift-postgres-tests",
    isolation: isolated (any Actor)? = #isolation,
    _ body: (PostgresConnection) async throws -> Result
) async throws -> Result {
    let connection = try await PostgresConnection.connect(TestDatabase.configuration(applicationName: applicationName))
    do {
        let result = try await body(connection)
        await connection.close()
        return result
    } catch {
        await connection.close()
        throw error
    }
}

/// Selects one bound value back from the server and decodes it, proving the value survives the round trip.
func roundTrip<Value: PostgresEncodable & PostgresDecodable>(
    _ value: Value,
    on connection: PostgresConnection
) async throws -> Value {
    let rows = try await connection.query("select \(value)")
    return try rows[0].decode(Value.self, at: 0)
}

/// Selects a SQL expression (trusted test text) and decodes the single value.
func select<Value: PostgresDecodable>(
    _ sql: String,
    as type: Value.Type,
    on connection: PostgresConnection
) async throws -> Value {
    let rows = try await connection.query(PostgresQuery(unsafeSQL: "select " + sql))
    return try rows[0].decode(Value.self, at: 0)
}

/// Terminates every backend with the given application_name and waits until they are gone.
func terminateBackends(applicationName: String) async throws -> Int {
    try await withTestConnection(applicationName: "nightshift-tests-killer") { killer in
        let rows = try await killer.query(
            "select pg_terminate_backend(pid, 5000) from pg_stat_activity where application_name = \(applicationName)"
        )
        return rows.count
    }
}

/// A name no other test (or earlier run) uses.
func uniqueName(_ prefix: String) -> String {
    prefix + "_" + UUID().uuidString.prefix(8).lowercased()
}

/// Stops the listener after `timeout`, so a missing event ends the iteration (and fails the test)
/// instead of hanging it. Cancel the returned task when the test is done.
func watchdog(_ listener: PostgresListener, timeout: Duration = .seconds(15)) -> Task<Void, Never> {
    Task {
        try? await Task.sleep(for: timeout)
        if !Task.isCancelled { listener.stop() }
    }
}
