import Foundation
import Migrations
import NightshiftSQL
import Postgres
import TestSupport
import Testing

/// The `nightshift` binary as a user runs it: listings in both formats, migrate --list and
/// --dry-run, db reset and its refusals, functions new. Needs `make build` first.
@Suite("the nightshift CLI", .serialized)
struct CLITests {
    func scalar(_ url: String, _ sql: String) async throws -> String? {
        let connection = try await PostgresConnection.connect(PostgresConfiguration(url: url))
        defer { Task { await connection.close() } }
        return try await connection.query(PostgresQuery(unsafeSQL: sql)).first!.decode(String?.self, at: 0)
    }

    func execute(_ url: String, _ sql: String) async throws {
        let connection = try await PostgresConnection.connect(PostgresConfiguration(url: url))
        defer { Task { await connection.close() } }
        try await connection.executeScript(sql)
    }

    /// The keys of `functions list --output json`, from the database or the binary alike.
    static let functionKeys: Set<String> = [
        "id", "kind", "defined_in", "declared", "enabled", "retired", "cron", "timezone", "events", "concurrency", "retries",
        "max_attempts", "timeout_ms", "on_failure", "source",
    ]

    @Test("functions list without a database: the binary's registry, the documented keys, a note, and a table with its header")
    func functionsList() async throws {
        let unreachable = ["DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"]
        let json = try await nightshift(["functions", "list", "--output", "json"], environment: unreachable)
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.stderr.contains("showing what this binary declares"), "\(json.stderr)")
        let functions = try json.jsonArray()
        #expect(functions.contains { $0["id"] as? String == "nightshift/noop" })
        for function in functions {
            #expect(Set(function.keys) == Self.functionKeys)
            #expect(function["source"] as? String == "binary" && function["declared"] as? Bool == true)
        }
        let scheduled = try #require(functions.first { $0["id"] as? String == "dossier/refresh-health-scores" })
        #expect(scheduled["cron"] is String)
        #expect(scheduled["timezone"] is String)
        #expect(scheduled["kind"] as? String == "swift")

        let table = try await nightshift(["functions", "list"], environment: unreachable)
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.first?.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            == ["function", "kind", "defined_in", "triggers", "concurrency", "retries", "enabled", "retired", "declared"])
        #expect(lines.count == functions.count + 2)  // header, rule, one line each
        #expect(table.stdout.contains("nightshift/noop"))
    }

    @Test("functions list with the database: SQL-defined, retired and this binary's functions, kind and defined_in")
    func functionsListFromDatabase() async throws {
        try await TestDatabase.withMigratedDatabase { url async throws in
            _ = try await nightshift(["schedules"], databaseURL: url)  // syncs the declarations
            try await execute(url, """
                select nightshift.define_function('ops/defined', 'http', '"http://127.0.0.1:9/x"', cron => '*/5 * * * *');
                select nightshift.define_function('ops/dropped', 'sql', '"select 1"');
                select nightshift.drop_function('ops/dropped');
                select nightshift.sync_functions((select jsonb_agg(jsonb_build_object('id', id)) from nightshift.functions
                                                  where defined_in = 'code' and retired_at is null) || '[{"id": "other/swift"}]');
                """)
            let json = try await nightshift(["functions", "list", "--output", "json"], databaseURL: url)
            #expect(json.status == 0, "\(json.stderr)")
            #expect(json.stderr.isEmpty, "\(json.stderr)")
            let functions = try json.jsonArray()
            for function in functions { #expect(Set(function.keys) == Self.functionKeys) }
            func row(_ id: String) -> [String: Any]? { functions.first { $0["id"] as? String == id } }
            let defined = try #require(row("ops/defined"))
            #expect(defined["kind"] as? String == "http" && defined["defined_in"] as? String == "sql")
            #expect(defined["declared"] as? Bool == false && defined["source"] as? String == "database")
            #expect(defined["cron"] as? String == "*/5 * * * *" && defined["enabled"] as? Bool == true)
            #expect(row("ops/dropped")?["retired"] as? Bool == true)
            #expect(row("other/swift")?["declared"] as? Bool == false, "another binary's function")
            let noop = try #require(row("nightshift/noop"))
            #expect(noop["kind"] as? String == "swift" && noop["declared"] as? Bool == true && noop["source"] as? String == "database")
        }
    }

    @Test("run --wait runs a function defined from SQL, and a config-declared one; retires no other build's function and stops at once on one nothing here can run")
    func runWaitDefined() async throws {
        try await TestDatabase.withMigratedDatabase { url async throws in
            _ = try await nightshift(["schedules"], databaseURL: url)  // syncs the declarations
            try await execute(url, """
                select nightshift.define_function('ops/defined', 'sql', '"select 1"', retries => 0);
                select nightshift.sync_functions((select jsonb_agg(jsonb_build_object('id', id)) from nightshift.functions
                                                  where defined_in = 'code' and retired_at is null) || '[{"id": "other/swift"}]');
                """)
            let result = try await nightshift(["run", "ops/defined", "--wait"], databaseURL: url)
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
            #expect(result.stdout.contains("run completed after 1 attempt(s)") && result.stdout.contains(#"output: {"rows":1}"#), "\(result.stdout)")

            let committed = TestDatabase.projectRoot.appendingPathComponent("supabase-like-config/config.toml")
            let config = FileManager.default.temporaryDirectory.appendingPathComponent("nightshift-run-\(UUID().uuidString.prefix(8)).toml")
            try (try String(contentsOf: committed, encoding: .utf8) + "\n[functions.\"ops/configured\"]\nsql = \"select 1 union all select 2\"\n")
                .write(to: config, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: config) }
            let configured = try await nightshift(["run", "ops/configured", "--wait"], databaseURL: url, environment: ["NIGHTSHIFT_CONFIG": config.path])
            #expect(configured.status == 0, "\(configured.stdout)\n\(configured.stderr)")
            #expect(configured.stdout.contains(#"output: {"rows":2}"#), "\(configured.stdout)")

            // Another build's Swift function: run --wait and schedules declare this binary's
            // functions only and retire none (they speak for no worker but themselves). Its run is
            // queued for the workers that declare it, and --wait says so instead of waiting.
            _ = try await nightshift(["schedules"], databaseURL: url)
            let other = try await nightshift(["run", "other/swift", "--wait"], databaseURL: url)
            #expect(other.status == 1, "\(other.stdout)\n\(other.stderr)")
            #expect(other.stderr.contains("other/swift is neither declared by this binary nor defined from SQL"), "\(other.stderr)")
            #expect(try await scalar(url, "select (retired_at is null)::text from nightshift.functions where id = 'other/swift'") == "true",
                    "still served by its own build's workers")
            #expect(try await scalar(url, "select count(*)::text from nightshift.runs where function_id = 'other/swift' and status = 'queued'") == "1")
        }
    }

    @Test("--output takes table or json only, and says so")
    func outputValidates() async throws {
        let result = try await nightshift(["functions", "list", "--output", "xml"])
        #expect(result.status == 64)  // EX_USAGE
        #expect(result.stderr.contains("table") && result.stderr.contains("json"), "\(result.stderr)")
        let status = try await nightshift(["runs", "--status", "finished"])
        #expect(status.status == 64)
        #expect(status.stderr.contains("cancelled"), "\(status.stderr)")
    }

    @Test("migrate --list and --dry-run write nothing, and tell pending, applied and changed files apart")
    func migrateListAndDryRun() async throws {
        let sets = try TestDatabase.projectMigrations()
        let files = sets.flatMap { set in set.files.map { (component: set.component, name: $0.name) } }
        try await TestDatabase.withTemporaryDatabase { url async throws in
            let list = try await nightshift(["migrate", "--list", "--output", "json"], databaseURL: url)
            #expect(list.status == 0, "\(list.stderr)")
            let pending = try list.jsonArray()
            #expect(pending.map { $0["name"] as? String } == files.map(\.name))
            #expect(pending.map { $0["component"] as? String } == files.map(\.component))
            #expect(pending.allSatisfy { $0["state"] as? String == "pending" && $0["applied_at"] is NSNull && $0["checksum"] is NSNull })
            #expect(Set(try #require(pending.first).keys) == ["component", "name", "state", "applied_at", "checksum", "duration_ms"])

            let dryRun = try await nightshift(["migrate", "--dry-run"], databaseURL: url)
            #expect(dryRun.status == 0, "\(dryRun.stderr)")
            #expect(dryRun.stdout.contains("\(files.count) would apply, 0 already applied; nothing written"), "\(dryRun.stdout)")
            #expect(dryRun.stdout.contains("  would apply engine/\(files[0].name)"))
            // Nothing written: not even the bookkeeping schema.
            #expect(try await scalar(url, "select to_regclass('nightshift.schema_migrations')::text") == nil)

            let migrate = try await nightshift(["migrate"], databaseURL: url)
            #expect(migrate.status == 0, "\(migrate.stderr)")
            #expect(migrate.stdout.contains("  applied engine/\(files[0].name) ("), "a progress line per file: \(migrate.stdout)")
            #expect(migrate.stdout.contains("  applied portfolio/0044_portfolio_access.sql ("), "\(migrate.stdout)")
            #expect(migrate.stdout.contains("migrate: \(files.count) applied, 0 already applied"))

            let applied = try await nightshift(["migrate", "--list", "--output", "json"], databaseURL: url).jsonArray()
            #expect(applied.allSatisfy { $0["state"] as? String == "applied" && $0["checksum"] as? String == "ok" && $0["applied_at"] is String })
            let table = try await nightshift(["migrate", "--list"], databaseURL: url)
            #expect(table.stdout.hasPrefix("component"), "\(table.stdout)")
            #expect(table.stdout.split(separator: "\n").count == files.count + 2)
            let nothing = try await nightshift(["migrate", "--dry-run", "--output", "json"], databaseURL: url)
            #expect(try nothing.jsonArray().isEmpty)

            // An applied file edited afterwards: --list says changed, --dry-run fails as migrate would.
            _ = try await scalar(url, "update nightshift.schema_migrations set checksum = 'x' where name = '\(files[1].name)' returning name")
            let changed = try await nightshift(["migrate", "--list", "--output", "json"], databaseURL: url).jsonArray()
            #expect(changed.first { $0["name"] as? String == files[1].name }?["checksum"] as? String == "changed")
            let refused = try await nightshift(["migrate", "--dry-run"], databaseURL: url)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("engine/\(files[1].name): was changed after it was applied"), "\(refused.stderr)")
        }
    }

    @Test("migrate started before its database answers waits for it, then applies everything; past --wait-for-database it exits 1 naming the limit")
    func migrateWaitsForTheDatabase() async throws {
        let total = try TestDatabase.projectMigrations().reduce(0) { $0 + $1.files.count }
        func onLoopback(_ url: String, port: Int) throws -> String {
            var components = try #require(URLComponents(string: url))
            components.host = "127.0.0.1"
            components.port = port
            return try #require(components.string)
        }
        try await TestDatabase.withTemporaryDatabase { url async throws in
            // The database comes up a second after migrate starts: PgBouncer on the port it was given.
            let port = try freeLoopbackPort()
            let late = try onLoopback(url, port: port)
            async let migrated = nightshift(["migrate"], environment: ["DATABASE_URL": late, "DATABASE_OWNER_URL": late])
            try await Task.sleep(for: .seconds(1))
            let bouncer = try await PgBouncer(upstream: url, mode: .session, port: port)
            defer { bouncer.stop() }
            let result = try await migrated
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
            #expect(result.stdout.contains("migrate: \(total) applied, 0 already applied"), "\(result.stdout)")
            #expect(try await scalar(url, "select count(*)::text from nightshift.schema_migrations") == "\(total)")

            let dead = try onLoopback(url, port: try freeLoopbackPort())
            let started = ContinuousClock.now
            let gaveUp = try await nightshift(["migrate", "--wait-for-database", "1"], environment: ["DATABASE_URL": dead, "DATABASE_OWNER_URL": dead])
            #expect(gaveUp.status == 1)
            #expect(ContinuousClock.now - started >= .seconds(1))
            #expect(gaveUp.stderr.contains("the database did not answer within --wait-for-database 1 s ("), "\(gaveUp.stderr)")
        }
    }

    @Test("migrate --only engine applies the engine's files alone (no dossier schema); a following migrate applies the packs")
    func migrateOnlyEngine() async throws {
        let sets = try TestDatabase.projectMigrations()
        let engine = try #require(sets.first { $0.component == "engine" })
        let total = sets.reduce(0) { $0 + $1.files.count }
        try await TestDatabase.withTemporaryDatabase { url async throws in
            let dryRun = try await nightshift(["migrate", "--only", "engine", "--dry-run", "--output", "json"], databaseURL: url)
            #expect(dryRun.status == 0, "\(dryRun.stderr)")
            #expect(try dryRun.jsonArray().map { $0["component"] as? String } == Array(repeating: "engine", count: engine.files.count))

            let only = try await nightshift(["migrate", "--only", "engine"], databaseURL: url)
            #expect(only.status == 0, "\(only.stdout)\n\(only.stderr)")
            #expect(only.stdout.contains("migrate: \(engine.files.count) applied, 0 already applied"), "\(only.stdout)")
            #expect(!only.stdout.contains("  applied dossier/"), "\(only.stdout)")
            #expect(try await scalar(url, "select count(*)::text from nightshift.schema_migrations where component = 'engine'") == "\(engine.files.count)")
            #expect(try await scalar(url, "select count(*)::text from nightshift.schema_migrations where component <> 'engine'") == "0")
            #expect(try await scalar(url, "select to_regnamespace('dossier')::text") == nil)
            #expect(try await scalar(url, "select to_regnamespace('api')::text") == "api")

            let list = try await nightshift(["migrate", "--list", "--only", "engine", "--output", "json"], databaseURL: url).jsonArray()
            #expect(list.count == engine.files.count)
            #expect(list.allSatisfy { $0["state"] as? String == "applied" })

            let rest = try await nightshift(["migrate"], databaseURL: url)
            #expect(rest.status == 0, "\(rest.stdout)\n\(rest.stderr)")
            #expect(rest.stdout.contains("migrate: \(total - engine.files.count) applied, \(engine.files.count) already applied"), "\(rest.stdout)")
            #expect(rest.stdout.contains("  applied dossier/0011_dossier_schema.sql ("), "\(rest.stdout)")
            #expect(try await scalar(url, "select to_regnamespace('dossier')::text") == "dossier")
        }
    }

    @Test("--only pulls in what a pack requires, takes commas or repeats, and refuses an unknown name listing the known ones")
    func migrateOnlyChoices() async throws {
        try await TestDatabase.withTemporaryDatabase { url async throws in
            let dossier = try await nightshift(["migrate", "--only", "dossier", "--dry-run", "--output", "json"], databaseURL: url)
            #expect(Set(try dossier.jsonArray().compactMap { $0["component"] as? String }) == ["engine", "dossier"])
            let two = try await nightshift(["migrate", "--only", "dossier,coverage", "--dry-run", "--output", "json"], databaseURL: url)
            let repeated = try await nightshift(["migrate", "--only", "dossier", "--only", "coverage", "--dry-run", "--output", "json"], databaseURL: url)
            #expect(Set(try two.jsonArray().compactMap { $0["component"] as? String }) == ["engine", "dossier", "coverage"])
            #expect(try two.jsonArray().count == (try repeated.jsonArray().count))

            for command in [["migrate", "--only", "billing"], ["db", "reset", "--yes", "--only", "engine,billing"]] {
                let unknown = try await nightshift(command, databaseURL: url)
                #expect(unknown.status == 64, "\(command): \(unknown.stderr)")
                #expect(unknown.stderr.contains("no component is named billing (known: engine, dossier, coverage, portfolio)"), "\(unknown.stderr)")
            }
            #expect(try await scalar(url, "select to_regclass('nightshift.schema_migrations')::text") == nil, "nothing written")
        }
    }

    @Test("the migrations come from the binary's bundle, not the current folder; --migrations-dir reads component folders instead")
    func bundledAndMigrationsDir() async throws {
        let sets = try TestDatabase.projectMigrations()
        let total = sets.reduce(0) { $0 + $1.files.count }
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("nightshift-migrations-\(UUID().uuidString.prefix(8))")
        try FileManager.default.copyItem(at: TestDatabase.projectRoot.appendingPathComponent("sql/migrations"), to: elsewhere)
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        try await TestDatabase.withTemporaryDatabase { url async throws in
            // The config file is the one path still read from the current folder: named here.
            let config = TestDatabase.projectRoot.appendingPathComponent("supabase-like-config/config.toml").path
            let fromTmp = try await nightshift(
                ["migrate", "--dry-run", "--output", "json"], databaseURL: url, environment: ["NIGHTSHIFT_CONFIG": config],
                directory: FileManager.default.temporaryDirectory)
            #expect(fromTmp.status == 0, "\(fromTmp.stderr)")
            #expect(try fromTmp.jsonArray().count == total)

            try "create table public.from_folder (id int);".write(
                to: elsewhere.appendingPathComponent("engine/0999_engine_from_folder.sql"), atomically: true, encoding: .utf8)
            let folder = try await nightshift(["migrate", "--only", "engine", "--migrations-dir", elsewhere.path], databaseURL: url)
            #expect(folder.status == 0, "\(folder.stderr)")
            #expect(folder.stdout.contains("  applied engine/0999_engine_from_folder.sql ("), "\(folder.stdout)")
            #expect(try await scalar(url, "select to_regclass('public.from_folder')::text") == "from_folder")

            try FileManager.default.createDirectory(at: elsewhere.appendingPathComponent("billing"), withIntermediateDirectories: true)
            let stranger = try await nightshift(["migrate", "--migrations-dir", elsewhere.path], databaseURL: url)
            #expect(stranger.status == 64, "\(stranger.stderr)")
            #expect(stranger.stderr.contains("billing is not a component this binary knows"), "\(stranger.stderr)")
        }
    }

    @Test("runs, schedules and status: JSON arrays with their keys, and tables with their headers")
    func listings() async throws {
        try await TestDatabase.withMigratedDatabase { url async throws in
            let empty = try await nightshift(["runs", "--output", "json"], databaseURL: url)
            #expect(empty.status == 0, "\(empty.stderr)")
            #expect(try empty.jsonArray().isEmpty)
            let emptyTable = try await nightshift(["runs"], databaseURL: url)
            #expect(emptyTable.stdout.split(separator: "\n").count == 2, "header and rule: \(emptyTable.stdout)")
            #expect(emptyTable.stdout.hasPrefix("id"))

            // schedules syncs the declarations, as a worker does: run can then trigger one.
            let schedules = try await nightshift(["schedules", "--output", "json"], databaseURL: url)
            #expect(schedules.status == 0, "\(schedules.stderr)")
            let rows = try schedules.jsonArray()
            #expect(!rows.isEmpty)
            for row in rows { #expect(Set(row.keys) == ["function_id", "cron", "timezone", "enabled", "next_at", "next_local"]) }
            let schedulesTable = try await nightshift(["schedules"], databaseURL: url)
            #expect(schedulesTable.stdout.split(separator: "\n").first?.hasPrefix("function") == true)

            let queued = try await nightshift(["run", "nightshift/noop"], databaseURL: url)
            #expect(queued.status == 0, "\(queued.stderr)")
            let runs = try await nightshift(["runs", "--output", "json"], databaseURL: url).jsonArray()
            try #require(runs.count == 1)
            #expect(Set(runs[0].keys) == [
                "id", "function_id", "status", "attempt", "max_attempts", "trigger", "created_at", "started_at", "finished_at",
            ])
            #expect(runs[0]["function_id"] as? String == "nightshift/noop")
            #expect(runs[0]["status"] as? String == "queued")
            let runsTable = try await nightshift(["runs", "--status", "queued"], databaseURL: url)
            #expect(runsTable.stdout.contains("nightshift/noop"))
            #expect(runsTable.stdout.split(separator: "\n").first?.contains("created (UTC)") == true)
            // A running run is in no per-function walk (engine/0076): the listing adds it.
            try await execute(url, """
                update nightshift.runs set status = 'running', lease_owner = 'cli-test', lease_token = 1,
                    lease_expires_at = now() + interval '1 minute', claimed_at = now(), started_at = now()
                """)
            let running = try await nightshift(["runs", "--output", "json"], databaseURL: url).jsonArray()
            #expect(running.map { $0["status"] as? String } == ["running"])
            let onlyRunning = try await nightshift(["runs", "--status", "running", "--output", "json"], databaseURL: url).jsonArray()
            #expect(onlyRunning.map { $0["id"] as? String } == runs.map { $0["id"] as? String })
            let noneQueued = try await nightshift(["runs", "--status", "queued", "--output", "json"], databaseURL: url).jsonArray()
            #expect(noneQueued.isEmpty)
            let badLimit = try await nightshift(["runs", "--limit", "0"], databaseURL: url)
            #expect(badLimit.status != 0)
            #expect(badLimit.stderr.contains("limit must be between 1 and 10000, got 0"), "\(badLimit.stderr)")

            let status = try await nightshift(["status", "--output", "json"], databaseURL: url)
            #expect(status.status == 0, "\(status.stderr)")
            let checks = try status.jsonArray()
            #expect(checks.map { $0["check"] as? String }.prefix(3) == ["database", "pg_cron", "migrations"])
            #expect(checks.first?["state"] as? String == "up")
            for check in checks { #expect(Set(check.keys) == ["check", "state", "detail"]) }
            let statusTable = try await nightshift(["status"], databaseURL: url)
            #expect(statusTable.stdout.hasPrefix("check"), "\(statusTable.stdout)")
        }
    }

    @Test("run --wait without a terminal prints a line per finished step with the time elapsed")
    func runWaitProgress() async throws {
        try await TestDatabase.withMigratedDatabase { url async throws in
            _ = try await nightshift(["schedules"], databaseURL: url)  // syncs the declarations
            let result = try await nightshift(
                ["run", "nightshift/diagnostics", "--payload", #"{"steps": 3}"#, "--wait"], databaseURL: url)
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
            let steps = result.stdout.split(separator: "\n").filter { $0.hasPrefix("  step ") }
            #expect(steps.count == 3, "\(result.stdout)")
            #expect(steps.allSatisfy { $0.wholeMatch(of: /\ \ step step-[1-3] done \([0-9]+\.[0-9] s\)/) != nil }, "\(steps)")
            #expect(result.stdout.contains("run completed after 1 attempt(s)"))
        }
    }

    @Test("db reset refuses without --yes when there is no terminal to ask on, and a remote server without --force")
    func dbResetRefusals() async throws {
        try await TestDatabase.withMigratedDatabase { url async throws in
            let refused = try await nightshift(["db", "reset"], databaseURL: url)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("pass --yes"), "\(refused.stderr)")
            #expect(try await scalar(url, "select to_regclass('nightshift.schema_migrations')::text") != nil, "untouched")

            // .invalid never resolves: the refusal comes before any connection is tried.
            let remote = try await nightshift(
                ["db", "reset", "--yes"],
                environment: ["DATABASE_URL": "postgresql://nightshift_app@db.example.invalid:5432/nightshift",
                              "DATABASE_OWNER_URL": "postgresql://postgres@db.example.invalid:5432/nightshift"])
            #expect(remote.status != 0)
            #expect(remote.stderr.contains("not this machine") && remote.stderr.contains("--force"), "\(remote.stderr)")
        }
    }

    @Test("db reset --yes drops the database's contents and migrates it anew")
    func dbReset() async throws {
        let files = try TestDatabase.projectMigrations().flatMap(\.files)
        try await TestDatabase.withMigratedDatabase { url async throws in
            try await execute(url, "create table public.leftover (id int)")
            let reset = try await nightshift(["db", "reset", "--yes"], databaseURL: url)
            #expect(reset.status == 0, "\(reset.stdout)\n\(reset.stderr)")
            #expect(reset.stdout.contains("dropped and created database"), "\(reset.stdout)")
            #expect(reset.stdout.contains("\(files.count) migrations applied"), "\(reset.stdout)")
            #expect(try await scalar(url, "select to_regclass('public.leftover')::text") == nil)
            #expect(try await scalar(url, "select count(*)::text from nightshift.schema_migrations") == "\(files.count)")

            let engine = try NightshiftSQL.engineMigrations().files.count
            let engineOnly = try await nightshift(["db", "reset", "--yes", "--only", "engine"], databaseURL: url)
            #expect(engineOnly.status == 0, "\(engineOnly.stdout)\n\(engineOnly.stderr)")
            #expect(engineOnly.stdout.contains("\(engine) migrations applied"), "\(engineOnly.stdout)")
            #expect(try await scalar(url, "select string_agg(distinct component, ',') from nightshift.schema_migrations") == "engine")
        }
    }

    @Test("functions new scaffolds a folder and registers it; refuses a taken or invalid name")
    func functionsNew() async throws {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("nightshift-functions-\(UUID().uuidString.prefix(8))")
        try FileManager.default.copyItem(at: TestDatabase.projectRoot.appendingPathComponent("functions"), to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }

        let created = try await nightshift(["functions", "new", "send-report", "--functions-dir", copy.path])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("POST /functions/v1/send-report"))
        let source = try String(contentsOf: copy.appendingPathComponent("send-report/SendReport.swift"), encoding: .utf8)
        #expect(source.contains("struct SendReport: EdgeFunction"))
        #expect(source.contains("let name = \"send-report\""))
        let catalog = try String(contentsOf: copy.appendingPathComponent("Catalog.swift"), encoding: .utf8)
        #expect(catalog.contains("        MarkNotificationRead(),\n        SendReport(),\n    ]"), "\(catalog)")

        let again = try await nightshift(["functions", "new", "send-report", "--functions-dir", copy.path])
        #expect(again.status != 0)
        #expect(again.stderr.contains("already exists"), "\(again.stderr)")
        for bad in ["Send_Report", "9lives", "send--report", "send-", "send report"] {
            let invalid = try await nightshift(["functions", "new", bad, "--functions-dir", copy.path])
            #expect(invalid.status == 64, "\(bad): \(invalid.stderr)")
            #expect(invalid.stderr.contains("not a valid function name"), "\(bad): \(invalid.stderr)")
        }
        // The type name of an existing function (functions/notifications declares ListNotifications).
        let clash = try await nightshift(["functions", "new", "list-notifications", "--functions-dir", copy.path])
        #expect(clash.status != 0)
        #expect(clash.stderr.contains("ListNotifications"), "\(clash.stderr)")
        let catalogAfter = try String(contentsOf: copy.appendingPathComponent("Catalog.swift"), encoding: .utf8)
        #expect(catalogAfter == catalog, "refusals leave the catalog alone")
    }
}

@Suite("shell completion")
struct CompletionTests {
    @Test("the generated scripts complete --output's and --status's values")
    func completion() async throws {
        for shell in ["bash", "zsh", "fish"] {
            let script = try await nightshift(["--generate-completion-script", shell])
            #expect(script.status == 0, "\(shell): \(script.stderr)")
            #expect(script.stdout.contains("table") && script.stdout.contains("json"), "\(shell)")
            #expect(script.stdout.contains("cancelled"), "\(shell)")
            #expect(script.stdout.contains("functions") && script.stdout.contains("reset"), "\(shell)")
        }
    }
}
