import Config
import Foundation
import Postgres
import TestSupport
import Testing

@testable import Engine

@Suite("cron schedules from Swift declarations", .serialized)
struct ScheduleTests {
    static func every(minute catchUp: CatchUp) -> NightshiftFunction {
        NightshiftFunction(id: "test/minutely", triggers: [.cron("* * * * *", timezone: "UTC")], catchUp: catchUp, payload: NoPayload.self) { _, _ in NoPayload() }
    }

    static func hourly(_ catchUp: CatchUp) -> NightshiftFunction {
        NightshiftFunction(id: "test/hourly", triggers: [.cron("0 * * * *", timezone: "UTC")], catchUp: catchUp, payload: NoPayload.self) { _, _ in NoPayload() }
    }

    @Test("after a simulated downtime, each catch-up policy enqueues what it says and records the rest as skipped", arguments: [
        (CatchUp.skip, 0, 11), (CatchUp.latest, 1, 10), (CatchUp.all(cap: 3), 3, 8),
    ])
    func catchUp(policy: CatchUp, enqueued: Int, skipped: Int) async throws {
        try await withEngine([Self.hourly(policy)]) { engine in
            // Nothing ticked for ten hours: when a ticker returns half an hour past the hour,
            // eleven hourly slots are due and even the newest is 30 minutes late.
            try await engine.database.execute("""
                update nightshift.schedules set next_slot = date_trunc('hour', now()) - interval '10 hours'
                where function_id = 'test/hourly'
                """)
            let count = try await engine.database.query("select nightshift.tick(date_trunc('hour', now()) + interval '30 minutes')")[0]
                .decode(Int.self, at: 0)
            #expect(count == enqueued)
            #expect(try await engine.count("select count(*) from nightshift.runs where trigger_kind = 'cron'") == enqueued)
            #expect(try await engine.count("select coalesce(sum(slot_count), 0)::int from nightshift.skipped_slots") == skipped)
        }
    }

    @Test("the same instant ticked twice enqueues each slot once")
    func tickIsIdempotent() async throws {
        try await withEngine([Self.every(minute: .latest)]) { engine in
            let at = "select nightshift.tick(date_trunc('minute', now()) + interval '2 minutes')"
            let first = try await engine.database.query(PostgresQuery(unsafeSQL: at))[0].decode(Int.self, at: 0)
            let second = try await engine.database.query(PostgresQuery(unsafeSQL: at))[0].decode(Int.self, at: 0)
            #expect(first == 1)
            #expect(second == 0)
        }
    }

    @Test("ENABLE_SCHEDULED_JOBS=false disables every cron trigger; a manual trigger still runs")
    func schedulerDisabled() async throws {
        try await withEngine([Self.every(minute: .latest)], schedulesEnabled: false) { engine in
            #expect(try await engine.count("select count(*) from nightshift.schedules where enabled") == 0)
            let count = try await engine.database.query("select nightshift.tick(now() + interval '1 hour')")[0].decode(Int.self, at: 0)
            #expect(count == 0)
            let id = try await engine.client.trigger("test/minutely")
            try await engine.withWorker { try await engine.wait(for: id, status: "completed") }
        }
    }

    @Test("config overrides a declared cron, timezone and retries")
    func configOverride() async throws {
        var registry = try FunctionRegistry([Self.every(minute: .latest)])
        var config = try NightshiftConfig.parse(Harness.minimalConfig, source: "test")
        config.jobs["test/minutely"] = .init(cron: "30 2 * * *", timezone: "Asia/Riyadh", enabled: nil, retries: 7)
        config.jobs["test/unknown"] = .init(cron: "0 0 * * *")
        let unknown = registry.apply(config)
        #expect(unknown == ["test/unknown"])
        #expect(registry.functions["test/minutely"]?.schedule?.cron == "30 2 * * *")
        #expect(registry.functions["test/minutely"]?.schedule?.timezone == "Asia/Riyadh")
        #expect(registry.functions["test/minutely"]?.retries == 7)
    }

    @Test("a registry narrowed to some functions keeps their config and the scheduler switch")
    func narrowed() async throws {
        var registry = try FunctionRegistry([Self.every(minute: .latest), Builtins.noop])
        var config = try NightshiftConfig.parse(Harness.minimalConfig, source: "test")
        config.jobs["test/minutely"] = .init(cron: "30 2 * * *")
        config.scheduler.enabled = false
        registry.apply(config)
        let only = registry.only(["test/minutely"])
        #expect(only.functions.keys.sorted() == ["test/minutely"])
        #expect(only.functions["test/minutely"]?.schedule?.cron == "30 2 * * *")
        #expect(!only.schedulesEnabled)
    }

    @Test("config's max_concurrency makes a job a singleton or limits it, keeping a declared key")
    func configConcurrency() async throws {
        let keyed = NightshiftFunction(id: "test/keyed", concurrency: .limit(5, key: "tenant"), payload: NoPayload.self) { _, _ in NoPayload() }
        var registry = try FunctionRegistry([Self.every(minute: .latest), keyed, Builtins.noop])
        var config = try NightshiftConfig.parse(Harness.minimalConfig, source: "test")
        config.jobs["test/minutely"] = .init(maxConcurrency: 1)
        config.jobs["test/keyed"] = .init(maxConcurrency: 2)
        config.jobs["nightshift/noop"] = .init(maxConcurrency: 3)
        registry.apply(config)
        #expect(registry.functions["test/minutely"]?.concurrency == .singleton)
        #expect(registry.functions["test/keyed"]?.concurrency == .limit(2, key: "tenant"))
        #expect(registry.functions["nightshift/noop"]?.concurrency == .limit(3))
        #expect(throws: ConfigError.self) {
            try NightshiftConfig.parse(Harness.minimalConfig + "\n[jobs.\"x/y\"]\nmax_concurrency = 0\n", source: "test")
        }
    }

    @Test("an invalid cron in a declaration stops the sync with the function and field named")
    func invalidCron() async throws {
        let broken = NightshiftFunction(id: "test/broken-cron", triggers: [.cron("61 * * * *")], payload: NoPayload.self) { _, _ in NoPayload() }
        try await TestDatabase.withMigratedDatabase { url async throws in
            let pool = PostgresPool(configuration: PostgresConfiguration(url: url), maxConnections: 1)
            await #expect { try await FunctionRegistry([broken]).sync(to: pool) } throws: { error in
                let message = (error as? PostgresError)?.message ?? ""
                return message.contains("test/broken-cron") && message.contains("minute")
            }
            await pool.close()
        }
    }
}
