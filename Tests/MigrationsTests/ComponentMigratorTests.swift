import Foundation
import Postgres
import TestSupport
import Testing

@testable import Migrations

/// Components against a real database: order, each component's own history, the upgrade of the
/// bookkeeping table a migrator before components made, and rows of components not given.
@Suite("migration components against a real database")
struct ComponentMigratorTests {
    let engine = MigrationSet(component: "engine", files: [
        MigrationFile(name: "0001_engine_things.sql", sql: "create table things (id int primary key, source text);"),
        MigrationFile(name: "0010_engine_more.sql", sql: "insert into things values (10, 'engine');"),
    ])
    /// Numbered before the engine's newest file, and needs its table: applies after the engine all the same.
    let pack = MigrationSet(component: "pack", requires: ["engine"], files: [
        MigrationFile(name: "0005_pack_rows.sql", sql: "insert into things values (5, 'pack');"),
    ])

    func rows(_ url: String) async throws -> [String] {
        let connection = try await PostgresConnection.connect(PostgresConfiguration(url: url))
        defer { Task { await connection.close() } }
        return try await connection.query("select component || '/' || name from nightshift.schema_migrations order by component || '/' || name collate \"C\"")
            .map { try $0.decode(String.self, at: 0) }
    }

    func scalar(_ url: String, _ sql: String) async throws -> String? {
        let connection = try await PostgresConnection.connect(PostgresConfiguration(url: url))
        defer { Task { await connection.close() } }
        return try await connection.query(PostgresQuery(unsafeSQL: sql)).first?.decode(String?.self, at: 0)
    }

    func status(_ url: String, _ sets: [MigrationSet]) async throws -> [Migrator.FileStatus] {
        let connection = try await PostgresConnection.connect(PostgresConfiguration(url: url))
        defer { Task { await connection.close() } }
        return try await Migrator(sets: sets).status(on: connection)
    }

    func execute(_ url: String, _ sql: String) async throws {
        let connection = try await PostgresConnection.connect(PostgresConfiguration(url: url))
        defer { Task { await connection.close() } }
        try await connection.executeScript(sql)
    }

    @Test("the engine's files apply first, then the pack's, whatever the numbers and the order given; recorded by component")
    func order() async throws {
        try await TestDatabase.withTemporaryDatabase { url async throws in
            let outcome = try await Migrator(sets: [pack, engine]).run(databaseURL: url)
            let applied = outcome.applied.map(\.description)
            #expect(applied == ["engine/0001_engine_things.sql", "engine/0010_engine_more.sql", "pack/0005_pack_rows.sql"])
            #expect(try await rows(url) == applied)
            #expect(try await scalar(url, "select string_agg(id::text, ',' order by id) from things") == "5,10")
            #expect(try await scalar(url, """
                select string_agg(a.attname, ',' order by k.ord) from pg_constraint c,
                  unnest(c.conkey) with ordinality k(attnum, ord) join pg_attribute a on a.attnum = k.attnum
                where c.conrelid = 'nightshift.schema_migrations'::regclass and c.contype = 'p' and a.attrelid = c.conrelid
                """) == "component,name")
        }
    }

    @Test("the engine alone, then the pack: its file applies though it sorts before the engine's newest")
    func engineAloneThenPack() async throws {
        try await TestDatabase.withTemporaryDatabase { url async throws in
            let alone = try await Migrator(sets: try MigrationSet.ordered([engine, pack], only: ["engine"])).run(databaseURL: url)
            #expect(alone.applied.map(\.component) == ["engine", "engine"])
            #expect(try await scalar(url, "select count(*)::text from things") == "1")
            let then = try await Migrator(sets: [engine, pack]).run(databaseURL: url)
            #expect(then.applied.map(\.description) == ["pack/0005_pack_rows.sql"])
            #expect(then.alreadyApplied.count == 2)
        }
    }

    @Test("changed, missing and late files are refused per component, naming the component")
    func historyPerComponent() async throws {
        try await TestDatabase.withTemporaryDatabase { url async throws in
            _ = try await Migrator(sets: [engine, pack]).run(databaseURL: url)

            let late = MigrationSet(component: "pack", requires: ["engine"], files: pack.files + [
                MigrationFile(name: "0004_pack_late.sql", sql: "select 1;"),
            ])
            let lateError = await #expect(throws: MigrationError.self) { try await Migrator(sets: [engine, late]).run(databaseURL: url) }
            #expect(lateError?.component == "pack")
            #expect(lateError?.file == "0004_pack_late.sql")
            #expect(lateError?.problem.contains("sorts before the already applied 0005_pack_rows.sql of its component") == true)

            // A pack file numbered after the pack's newest but before the engine's newest is not late.
            let next = MigrationSet(component: "pack", requires: ["engine"], files: pack.files + [
                MigrationFile(name: "0006_pack_next.sql", sql: "insert into things values (6, 'pack');"),
            ])
            #expect(try await Migrator(sets: [engine, next]).run(databaseURL: url).applied.map(\.description) == ["pack/0006_pack_next.sql"])

            let gone = MigrationSet(component: "pack", requires: ["engine"], files: [next.files[1]])
            let missing = await #expect(throws: MigrationError.self) { try await Migrator(sets: [engine, gone]).run(databaseURL: url) }
            #expect(missing?.description == "pack/0005_pack_rows.sql: is recorded as applied but is missing from the component's migrations")

            let edited = MigrationSet(component: "pack", requires: ["engine"], files: [
                pack.files[0], MigrationFile(name: "0006_pack_next.sql", sql: "insert into things values (7, 'pack');"),
            ])
            let changed = await #expect(throws: MigrationError.self) { try await Migrator(sets: [engine, edited]).run(databaseURL: url) }
            #expect(changed?.component == "pack")
            #expect(changed?.file == "0006_pack_next.sql")
            #expect(changed?.problem.contains("was changed after it was applied") == true)
            // The same name in another component is another migration: its own checksum, no clash.
            let twin = MigrationSet(component: "twin", requires: ["engine"], files: [
                MigrationFile(name: "0005_pack_rows.sql", sql: "insert into things values (50, 'twin');"),
            ])
            #expect(try await Migrator(sets: [engine, next, twin]).run(databaseURL: url).applied.map(\.description) == ["twin/0005_pack_rows.sql"])
        }
    }

    @Test("a table from the migrator before components is upgraded in place: rows get their components, nothing re-applied")
    func upgradesFlatTable() async throws {
        try await TestDatabase.withTemporaryDatabase { url async throws in
            // What the previous binary left: name as the key, every file flat, the schema they made.
            try await execute(url, """
                create schema nightshift;
                create table nightshift.schema_migrations (
                    name text primary key, checksum text not null,
                    applied_at timestamptz not null default now(), duration_ms integer not null default 0);
                create table things (id int primary key, source text);
                insert into things values (5, 'pack'), (10, 'engine');
                """)
            let connection = try await PostgresConnection.connect(PostgresConfiguration(url: url))
            for file in engine.files + pack.files {
                try await connection.query("""
                    insert into nightshift.schema_migrations (name, checksum)
                    values (\(file.name), encode(sha256(convert_to(\(file.sql), 'UTF8')), 'hex'))
                    """)
            }
            // A file this build does not have (a newer binary's): kept, its component unknown.
            try await connection.query("insert into nightshift.schema_migrations (name, checksum) values ('0099_other_thing.sql', 'x')")
            await connection.close()

            // status reads without writing: everything applied, components matched by name.
            let before = try await status(url, [engine, pack])
            #expect(before.map(\.key.description) == [
                "engine/0001_engine_things.sql", "engine/0010_engine_more.sql", "pack/0005_pack_rows.sql", "0099_other_thing.sql",
            ])
            #expect(before.map(\.state) == [.applied, .applied, .applied, .notInBuild])
            #expect(before.prefix(3).allSatisfy { $0.checksumMatches == true })
            #expect(try await scalar(url, "select count(*)::text from pg_attribute where attrelid = 'nightshift.schema_migrations'::regclass and attname = 'component'") == "0")

            // --only engine first: the engine's rows get their component; the pack's wait for a migrator that has its files.
            let engineOnly = try await Migrator(sets: try MigrationSet.ordered([engine, pack], only: ["engine"])).run(databaseURL: url)
            #expect(engineOnly.applied.isEmpty)
            #expect(try await rows(url) == [
                "/0005_pack_rows.sql", "/0099_other_thing.sql", "engine/0001_engine_things.sql", "engine/0010_engine_more.sql",
            ])
            let outcome = try await Migrator(sets: [engine, pack]).run(databaseURL: url)
            #expect(outcome.applied.isEmpty)
            #expect(outcome.alreadyApplied.count == 3)
            #expect(try await rows(url) == [
                "/0099_other_thing.sql", "engine/0001_engine_things.sql", "engine/0010_engine_more.sql", "pack/0005_pack_rows.sql",
            ])
            #expect(try await scalar(url, "select string_agg(id::text, ',' order by id) from things") == "5,10", "nothing re-applied")
            // Idempotent: a second upgrade finds nothing to do.
            #expect(try await Migrator(sets: [engine, pack]).run(databaseURL: url).applied.isEmpty)
            #expect(try await scalar(url, """
                select string_agg(a.attname, ',' order by k.ord) from pg_constraint c,
                  unnest(c.conkey) with ordinality k(attnum, ord) join pg_attribute a on a.attnum = k.attnum
                where c.conrelid = 'nightshift.schema_migrations'::regclass and c.contype = 'p' and a.attrelid = c.conrelid
                """) == "component,name")
        }
    }

    @Test("a row recorded before components whose name two given sets share is refused: which was applied cannot be told")
    func ambiguousFlatRow() async throws {
        try await TestDatabase.withTemporaryDatabase { url async throws in
            try await execute(url, """
                create schema nightshift;
                create table nightshift.schema_migrations (
                    name text primary key, checksum text not null,
                    applied_at timestamptz not null default now(), duration_ms integer not null default 0);
                insert into nightshift.schema_migrations (name, checksum) values ('0001_shared.sql', 'x');
                """)
            let shared = MigrationFile(name: "0001_shared.sql", sql: "select 1;")
            let error = await #expect(throws: MigrationError.self) {
                try await Migrator(sets: [
                    MigrationSet(component: "engine", files: [shared]), MigrationSet(component: "pack", requires: ["engine"], files: [shared]),
                ]).run(databaseURL: url)
            }
            #expect(error?.problem.contains("engine and pack") == true, "\(String(describing: error))")
        }
    }

    @Test("rows of a component not given are left alone and listed as not-in-build")
    func foreignComponent() async throws {
        try await TestDatabase.withTemporaryDatabase { url async throws in
            _ = try await Migrator(sets: [engine, pack]).run(databaseURL: url)
            // Another application's binary, without the pack: neither an error nor applied.
            let outcome = try await Migrator(sets: [engine]).run(databaseURL: url)
            #expect(outcome.applied.isEmpty)
            #expect(outcome.alreadyApplied.map(\.component) == ["engine", "engine"])
            #expect(try await rows(url).contains("pack/0005_pack_rows.sql"))

            let connection = try await PostgresConnection.connect(PostgresConfiguration(url: url))
            defer { Task { await connection.close() } }
            let statuses = try await Migrator(sets: [engine]).status(on: connection)
            let foreign = try #require(statuses.last)
            #expect(foreign.key.description == "pack/0005_pack_rows.sql")
            #expect(foreign.state == .notInBuild)
            #expect(foreign.state.rawValue == "not-in-build")
            #expect(foreign.appliedAt != nil)
            #expect(try await Migrator(sets: [engine]).plan(on: connection).isEmpty)
        }
    }
}
