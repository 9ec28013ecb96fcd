import Foundation
import Postgres
import TestSupport
import Testing

@testable import Migrations

@Suite("migrations against a real database")
struct MigratorTests {
    let first = MigrationFile(name: "0001_things.sql", sql: "create table things (id int primary key);")
    let second = MigrationFile(name: "0002_things_seed.sql", sql: "insert into things values (1), (2);")

    func names(_ url: String) async throws -> [String] {
        let connection = try await PostgresConnection.connect(PostgresConfiguration(url: url))
        defer { Task { await connection.close() } }
        return try await connection.query("select name from nightshift.schema_migrations order by name")
            .map { try $0.decode(String.self, at: 0) }
    }

    func count(_ url: String, _ sql: String) async throws -> Int {
        let connection = try await PostgresConnection.connect(PostgresConfiguration(url: url))
        defer { Task { await connection.close() } }
        return try await connection.query(PostgresQuery(unsafeSQL: sql)).first!.decode(Int.self, at: 0)
    }

    @Test("files apply in order once, with name and checksum recorded")
    func appliesInOrder() async throws {
        try await TestDatabase.withTemporaryDatabase { url async throws in
            // Given in the wrong order: the runner sorts by name, so 0002 finds its table.
            let outcome = try await Migrator(files: [first, second].sorted { $0.name < $1.name }).run(databaseURL: url)
            #expect(outcome.applied.map(\.name) == ["0001_things.sql", "0002_things_seed.sql"])
            #expect(outcome.applied.allSatisfy { $0.component == "default" })
            #expect(try await count(url, "select count(*) from things") == 2)
            #expect(try await names(url) == ["0001_things.sql", "0002_things_seed.sql"])
            #expect(try await count(url, "select count(*) from nightshift.schema_migrations where checksum ~ '^[0-9a-f]{64}$'") == 2)

            let again = try await Migrator(files: [first, second]).run(databaseURL: url)
            #expect(again.applied.isEmpty)
            #expect(again.alreadyApplied.count == 2)
            #expect(try await count(url, "select count(*) from things") == 2)
        }
    }

    @Test("a changed applied file is refused, naming the file")
    func changedFile() async throws {
        try await TestDatabase.withTemporaryDatabase { url async throws in
            _ = try await Migrator(files: [first]).run(databaseURL: url)
            let edited = MigrationFile(name: first.name, sql: first.sql + "\n-- edited")
            let error = await #expect(throws: MigrationError.self) {
                try await Migrator(files: [edited, second]).run(databaseURL: url)
            }
            #expect(error?.file == "0001_things.sql")
            #expect(error?.problem.contains("changed after it was applied") == true)
            // Nothing after the refusal ran.
            #expect(try await names(url) == ["0001_things.sql"])
        }
    }

    @Test("a failing migration rolls back whole and names file, line and SQLSTATE")
    func failingMigration() async throws {
        try await TestDatabase.withTemporaryDatabase { url async throws in
            let broken = MigrationFile(name: "0002_broken.sql", sql: """
                create table half_done (id int);

                insert into half_done
                  values (1 / 0);
                """)
            let error = await #expect(throws: MigrationError.self) {
                try await Migrator(files: [first, broken]).run(databaseURL: url)
            }
            #expect(error?.file == "0002_broken.sql")
            #expect(error?.line == 3)
            #expect(error?.sqlState == "22012")
            #expect(try await names(url) == ["0001_things.sql"])
            #expect(try await count(url, "select count(*) from pg_tables where tablename = 'half_done'") == 0)
        }
    }

    @Test("a syntax error points at its own line")
    func syntaxErrorLine() async throws {
        try await TestDatabase.withTemporaryDatabase { url async throws in
            let broken = MigrationFile(name: "0001_typo.sql", sql: "select 1;\n\nselect\n  1\n  fromm nowhere;")
            let error = await #expect(throws: MigrationError.self) {
                try await Migrator(files: [broken]).run(databaseURL: url)
            }
            #expect(error?.sqlState == "42601")
            #expect(error?.line == 5)
        }
    }

    @Test("a file added before an applied one, or removed after, is refused")
    func history() async throws {
        try await TestDatabase.withTemporaryDatabase { url async throws in
            _ = try await Migrator(files: [first, second]).run(databaseURL: url)
            let missing = await #expect(throws: MigrationError.self) {
                try await Migrator(files: [first]).run(databaseURL: url)
            }
            #expect(missing?.file == "0002_things_seed.sql")
            let late = MigrationFile(name: "0001_b_late.sql", sql: "select 1;")
            let error = await #expect(throws: MigrationError.self) {
                try await Migrator(files: [first, late, second].sorted { $0.name < $1.name }).run(databaseURL: url)
            }
            #expect(error?.file == "0001_b_late.sql")
        }
    }

    @Test("two runners at once: each file applies exactly once")
    func concurrentRunners() async throws {
        try await TestDatabase.withTemporaryDatabase { url async throws in
            let slow = MigrationFile(name: "0001_slow.sql", sql: "create table slow (id int); select pg_sleep(0.5); insert into slow values (1);")
            async let a = Migrator(files: [slow, second.renamed("0002_more.sql", "insert into slow values (2);")]).run(databaseURL: url)
            async let b = Migrator(files: [slow, second.renamed("0002_more.sql", "insert into slow values (2);")]).run(databaseURL: url)
            let outcomes = try await [a, b]
            #expect(outcomes.map(\.applied.count).sorted() == [0, 2])
            #expect(try await count(url, "select count(*) from slow") == 2)
            #expect(try await names(url) == ["0001_slow.sql", "0002_more.sql"])
        }
    }

    @Test("the project's own migrations apply to an empty database, twice without change")
    func projectMigrations() async throws {
        let sets = try TestDatabase.projectMigrations()
        let count = sets.reduce(0) { $0 + $1.files.count }
        #expect(count > 0)
        try await TestDatabase.withTemporaryDatabase { url async throws in
            let outcome = try await Migrator(sets: sets).run(databaseURL: url)
            #expect(outcome.applied.count == count)
            let again = try await Migrator(sets: sets).run(databaseURL: url)
            #expect(again.applied.isEmpty)
            #expect(again.alreadyApplied.count == count)
        }
    }

    @Test("a misnamed file in the folder is refused by name")
    func misnamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "select 1;".write(to: directory.appendingPathComponent("0001_ok.sql"), atomically: true, encoding: .utf8)
        try "select 1;".write(to: directory.appendingPathComponent("2-bad.sql"), atomically: true, encoding: .utf8)
        #expect { try MigrationFile.load(from: directory.path) } throws: { error in
            (error as? MigrationError)?.file == "2-bad.sql"
        }
    }
}

extension MigrationFile {
    func renamed(_ name: String, _ sql: String) -> MigrationFile {
        MigrationFile(name: name, sql: sql)
    }
}
