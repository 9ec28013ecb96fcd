import Foundation
import Migrations
import NightshiftSQL
import Postgres

extension TestDatabase {
    /// The project's root folder (the tests live two folders below it).
    public static let projectRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The project's migrations as the binary bundles them: the engine's, then each pack's.
    public static func projectMigrations() throws -> [MigrationSet] {
        try NightshiftSQL.components.map { component in
            component == "engine" ? try NightshiftSQL.engineMigrations() : try NightshiftSQL.migrations(component)
        }
    }

    /// A temporary database with every project migration applied.
    public static func withMigratedDatabase<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (String) async throws -> Result
    ) async throws -> Result {
        let sets = try projectMigrations()
        return try await withTemporaryDatabase { url in
            _ = try await Migrator(sets: sets).run(databaseURL: url)
            return try await body(url)
        }
    }

    /// The `nightshift` binary built by `make build` (or `swift build`), for multi-process tests.
    public static var nightshiftBinary: String {
        if let path = ProcessInfo.processInfo.environment["NIGHTSHIFT_BIN"] { return path }
        return projectRoot.appendingPathComponent(".build/debug/nightshift").path
    }
}
