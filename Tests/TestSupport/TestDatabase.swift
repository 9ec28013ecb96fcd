import Foundation
import Postgres

/// The PostgreSQL that integration tests run against.
public enum TestDatabase {
    /// `DATABASE_URL`, else the local development cluster.
    public static var url: String {
        ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "postgresql://postgres@127.0.0.1:54329/nightshift"
    }

    /// `url` with the login the server and workers use in production (nightshift_app, created by
    /// 0040_auth.sql): neither superuser nor owner, so tests meet the grants and policies.
    public static func appURL(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.user = "nightshift_app"
        components.password = nil
        return components.string ?? url
    }

    /// A configuration for `url`, with an application name tests can find in `pg_stat_activity`.
    public static func configuration(applicationName: String = "nightshift-tests") -> PostgresConfiguration {
        PostgresConfiguration(url: url, applicationName: applicationName)
    }

    /// Creates a fresh, uniquely named database (from template0), passes its URL to `body`, and drops it
    /// afterwards, forcibly, so connections the test leaked cannot keep it alive.
    public static func withTemporaryDatabase<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (String) async throws -> Result
    ) async throws -> Result {
        let name = "nightshift_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = try await PostgresConnection.connect(configuration(applicationName: "nightshift-tests-admin"))
        // CREATE DATABASE cannot take parameters; the name is generated above, never user input.
        try await admin.executeScript("create database \"\(name)\" template template0")
        let temporaryURL = try configuration().replacingDatabase(with: name).url
        do {
            let result = try await body(temporaryURL)
            try await admin.executeScript("drop database if exists \"\(name)\" with (force)")
            await admin.close()
            return result
        } catch {
            try? await admin.executeScript("drop database if exists \"\(name)\" with (force)")
            await admin.close()
            throw error
        }
    }
}
