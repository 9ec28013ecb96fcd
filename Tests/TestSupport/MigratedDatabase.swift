import Foundation
import Migrations
import Postgres

extension TestDatabase {
    /// The project's root folder (the tests live two folders below it).
    public static let projectRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The project's migrations.
    public static func projectMigrations() throws -> [MigrationFile] {
        try MigrationFile.load(from: projectRoot.appendingPathComponent("sql/migrations").path)
    }

    /// A temporary database with every project migration applied.
    public static func withMigratedDatabase<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (String) async throws -> Result
    ) async throws -> Result {
        let files = try projectMigrations()
        return try await withTemporaryDatabase { url in
            _ = try await Migrator(files: files).run(databaseURL: url)
            return try await body(url)
        }
    }

    /// The `nightshift` binary built by `make build` (or `swift build`), for multi-process tests.
    public static var nightshiftBinary: String {
        if let path = ProcessInfo.processInfo.environment["NIGHTSHIFT_BIN"] { return path }
        return projectRoot.appendingPathComponent(".build/debug/nightshift").path
    }
}
