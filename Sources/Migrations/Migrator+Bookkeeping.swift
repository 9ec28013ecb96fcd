import Foundation
import Postgres

/// `nightshift.schema_migrations`: created, upgraded from the table of migrators before components
/// (one flat folder, keyed by name), read, and compared with the sets given.
extension Migrator {
    /// One row of `nightshift.schema_migrations`; `component` is empty for a row a migrator
    /// before components wrote and no migrator since has matched to a file.
    struct Recorded: Sendable {
        var component: String
        var name: String
        var checksum: String
        var appliedAt: Date
        var durationMilliseconds: Int
    }

    /// Creates the table, or upgrades the one a migrator before components made: a `component`
    /// column (default '', which an older binary writing into the upgraded table also gets) and the
    /// key (component, name). Idempotent; the caller holds the advisory lock. Both paths give the
    /// same columns in the same order, so a fresh database and an upgraded one dump alike.
    static func prepareTable(on connection: PostgresConnection) async throws {
        let comment = """
            comment on column nightshift.schema_migrations.component is
                'The component the file belongs to (engine, or a pack); empty for a row recorded before components, until a migrator that has a file of that name records its component.';
            """
        if try await connection.query("select to_regclass('nightshift.schema_migrations') is null")[0].decode(Bool.self, at: 0) {
            // One simple query: one implicit transaction, so a failure leaves no half-made table.
            try await connection.executeScript("""
                create schema if not exists nightshift;
                create table nightshift.schema_migrations (
                    name text not null,
                    checksum text not null,
                    applied_at timestamptz not null default now(),
                    duration_ms integer not null default 0,
                    component text not null default '',
                    constraint schema_migrations_pkey primary key (component, name)
                );
                \(comment)
                """)
            return
        }
        guard try await !hasComponentColumn(connection) else { return }
        // The old key is on name alone, under whatever name its creator gave it (a bench script's
        // table, or the old migrator's): dropped by what the catalog says.
        try await connection.executeScript("""
            alter table nightshift.schema_migrations add column component text not null default '';
            do $$
            declare
                v_key text;
            begin
                select conname into v_key from pg_catalog.pg_constraint
                where conrelid = 'nightshift.schema_migrations'::regclass and contype = 'p';
                if v_key is not null then
                    execute format('alter table nightshift.schema_migrations drop constraint %I', v_key);
                end if;
            end
            $$;
            alter table nightshift.schema_migrations add constraint schema_migrations_pkey primary key (component, name);
            \(comment)
            """)
    }

    static func hasComponentColumn(_ connection: PostgresConnection) async throws -> Bool {
        try await connection.query("""
            select exists (select from pg_catalog.pg_attribute
                           where attrelid = 'nightshift.schema_migrations'::regclass and attname = 'component' and not attisdropped)
            """)[0].decode(Bool.self, at: 0)
    }

    /// Every recorded row; none when the table does not exist. A table without `component`
    /// (not upgraded yet: `status` and `plan` do not write) reads as all rows unassigned.
    static func recorded(on connection: PostgresConnection) async throws -> [Recorded] {
        guard try await connection.query("select to_regclass('nightshift.schema_migrations') is not null")[0].decode(Bool.self, at: 0)
        else { return [] }
        let component = try await hasComponentColumn(connection) ? "component" : "''::text"
        return try await connection.query("""
            select \(unescaped: component), name, checksum, applied_at, duration_ms from nightshift.schema_migrations
            """).map { row in
            let (component, name, checksum, appliedAt, duration) = try row.decode(String.self, String.self, String.self, Date.self, Int.self)
            return Recorded(component: component, name: name, checksum: checksum, appliedAt: appliedAt, durationMilliseconds: duration)
        }
    }

    /// Rows recorded before components get the component of the given file with their name (file
    /// numbers are unique across a project's components); a name two given sets share is refused,
    /// since which one was applied cannot be told. A name no given set has stays unassigned.
    static func assignComponents(_ rows: [Recorded], sets: [MigrationSet]) throws -> [Recorded] {
        var owners: [String: [String]] = [:]
        for set in sets { for file in set.files { owners[file.name, default: []].append(set.component) } }
        return try rows.map { row in
            guard row.component.isEmpty, let components = owners[row.name] else { return row }
            guard components.count == 1 else {
                throw MigrationError(
                    file: row.name,
                    problem: "is recorded without a component (by a migrator before components) and is a file of "
                        + "\(components.joined(separator: " and ")): which one was applied cannot be told")
            }
            var assigned = row
            assigned.component = components[0]
            return assigned
        }
    }

    /// Writes the components `assignComponents` found (the caller holds the lock).
    static func recordComponents(from rows: [Recorded], to assigned: [Recorded], on connection: PostgresConnection) async throws {
        let changes = zip(rows, assigned).filter { $0.component != $1.component }
        guard !changes.isEmpty else { return }
        try await connection.withTransaction { connection in
            for (_, row) in changes {
                try connection.query("""
                    update nightshift.schema_migrations set component = \(row.component)
                    where component = '' and name = \(row.name)
                    """)
            }
        }
    }

    /// Each file's sha256 (hex) of its UTF-8 text, as the database computes it, in one query.
    static func checksums(of sets: [MigrationSet], on connection: PostgresConnection) async throws -> [MigrationKey: String] {
        let keys = sets.flatMap { set in set.files.map { MigrationKey(component: set.component, name: $0.name) } }
        let texts = sets.flatMap { $0.files.map(\.sql) }
        guard !texts.isEmpty else { return [:] }
        let sums = try await connection.query("""
            select encode(sha256(convert_to(t.sql, 'UTF8')), 'hex')
            from unnest(\(texts)::text[]) with ordinality as t(sql, position) order by t.position
            """).map { try $0.decode(String.self, at: 0) }
        return Dictionary(uniqueKeysWithValues: zip(keys, sums))
    }

    /// The given sets' files and the recorded rows, side by side (see `status(on:)` for the order).
    static func statuses(_ ordered: [MigrationSet], rows: [Recorded], checksums: [MigrationKey: String]) -> [FileStatus] {
        var byKey: [MigrationKey: Recorded] = [:]
        for row in rows { byKey[MigrationKey(component: row.component, name: row.name)] = row }
        func status(_ row: Recorded, _ state: FileStatus.State, matches: Bool?) -> FileStatus {
            FileStatus(
                component: row.component, name: row.name, state: state, appliedAt: row.appliedAt, checksumMatches: matches,
                durationMilliseconds: row.durationMilliseconds)
        }
        var statuses: [FileStatus] = []
        for set in ordered {
            var component: [FileStatus] = set.files.map { file in
                let key = MigrationKey(component: set.component, name: file.name)
                guard let row = byKey[key] else { return FileStatus(component: set.component, name: file.name, state: .pending) }
                return status(row, .applied, matches: row.checksum == checksums[key])
            }
            let names = Set(set.files.map(\.name))
            component += rows.filter { $0.component == set.component && !names.contains($0.name) }.map { status($0, .missing, matches: nil) }
            statuses += component.sorted { $0.name < $1.name }
        }
        let given = Set(ordered.map(\.component))
        statuses += rows.filter { !given.contains($0.component) }
            .sorted { ($0.component, $0.name) < ($1.component, $1.name) }
            .map { status($0, .notInBuild, matches: nil) }
        return statuses
    }
}
