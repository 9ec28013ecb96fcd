import Engine
import Foundation
import NightshiftKit
import Notifications
import Postgres

/// The chaos suite's workload (`make chaos`, Tests/Chaos): functions that exercise every engine
/// path under faults and record their effects in schema `chaos`, so the suite's checks are SQL.
/// Declared only when `NIGHTSHIFT_CHAOS_WORKLOAD=1`: an ordinary deployment never has them, and
/// the harness's processes all set it (every process must declare the same set). Schema `chaos`
/// belongs to the harness (Tests/Chaos/schema.sql), not to a migration.
struct ChaosWorkload: Pack {
    let name = "chaos"

    func functions(_ context: PackContext) throws -> [NightshiftFunction] { Self.functions }

    /// Whether this process declares the workload.
    static var isEnabled: Bool { ProcessInfo.processInfo.environment["NIGHTSHIFT_CHAOS_WORKLOAD"] == "1" }

    static var functions: [NightshiftFunction] {
        [cronSecond, cronMinute, pipeline, singleton, limited, notify] + fanout.map(fanoutHandler)
    }

    /// What the harness puts in a run's payload (every field optional).
    struct Payload: Codable, Sendable {
        /// How long each `step.run` body takes.
        var stepMs: Int?
        /// The durable sleep between the steps.
        var sleepMs: Int?
        /// Fail by the run's own code (NonRetriableError), after two steps: the failures the
        /// suite expects, told apart from the faults' by this message.
        var fail: Bool?
        /// Fail this many attempts with a transient error first (retries are part of the mix).
        var failAttempts: Int?
        /// Send `chaos.fanout` at the end (three functions subscribe to it).
        var fanout: Bool?
        /// The limit key of `chaos/limited`.
        var tenant: String?
        /// The recipient of `chaos/notify`.
        var user: UUID?

        enum CodingKeys: String, CodingKey {
            case stepMs = "step_ms", sleepMs = "sleep_ms", fail, failAttempts = "fail_attempts", fanout, tenant, user
        }
    }

    /// The message of a run that failed because its payload asked it to.
    static let ownFailure = "chaos: the payload asked this run to fail"

    struct TransientFailure: Error, CustomStringConvertible, TransienceClassified {
        let attempt: Int
        var isTransient: Bool { true }
        var description: String { "chaos: transient failure asked for on attempt \(attempt)" }
    }

    /// A `step.run` whose every execution of its body appends a row to chaos.step_executions
    /// (committed on its own, before the work): executions are counted against crashes.
    static func checkedStep(_ name: String, _ context: RunContext, milliseconds: Int) async throws {
        let (database, runID, attempt) = (context.database, context.runID, context.attempt)
        let pid = Int(ProcessInfo.processInfo.processIdentifier)
        try await context.step.run(name) {
            try await database.execute("""
                insert into chaos.step_executions (run_id, step, attempt, pid) values (\(runID), \(name), \(attempt), \(pid))
                """)
            if milliseconds > 0 { try await Task.sleep(for: .milliseconds(milliseconds)) }
            return name
        }
    }

    /// A `step.transaction` writing one chaos.tx_effects row keyed (run, step): the table has no
    /// unique constraint, so a step committed twice would show as two rows.
    static func checkedTransaction(_ name: String, _ context: RunContext) async throws {
        let (runID, attempt) = (context.runID, context.attempt)
        let pid = Int(ProcessInfo.processInfo.processIdentifier)
        try await context.step.transaction(name) { connection in
            try connection.execute("""
                insert into chaos.tx_effects (run_id, step, attempt, pid) values (\(runID), \(name), \(attempt), \(pid))
                """)
            return name
        }
    }

    /// Every second (pg_cron's sub-minute spelling): a slot per second through every fault.
    static let cronSecond = NightshiftFunction(
        id: "chaos/cron-second", triggers: [.cron("1 second")], payload: NoPayload.self
    ) { _, context in
        try await checkedStep("tick", context, milliseconds: 20)
        try await checkedTransaction("record", context)
        return NoPayload()
    }

    static let cronMinute = NightshiftFunction(
        id: "chaos/cron-minute", triggers: [.cron("* * * * *")], payload: NoPayload.self
    ) { _, context in
        try await checkedStep("tick", context, milliseconds: 200)
        try await checkedTransaction("record", context)
        return NoPayload()
    }

    /// Five `step.run` steps, two `step.transaction` steps, a durable sleep and an event.
    static let pipeline = NightshiftFunction(id: "chaos/pipeline", retries: 3, payload: Payload.self) { payload, context in
        if context.attempt <= (payload.failAttempts ?? 0) { throw TransientFailure(attempt: context.attempt) }
        let ms = min(max(payload.stepMs ?? 200, 0), 10_000)
        try await checkedStep("s1", context, milliseconds: ms)
        try await checkedStep("s2", context, milliseconds: ms)
        if payload.fail == true { throw NonRetriableError(ownFailure) }
        try await checkedTransaction("t1", context)
        try await checkedStep("s3", context, milliseconds: ms)
        if let sleep = payload.sleepMs, sleep > 0 { try await context.step.sleep("nap", for: .milliseconds(sleep)) }
        try await checkedStep("s4", context, milliseconds: ms)
        try await checkedTransaction("t2", context)
        try await checkedStep("s5", context, milliseconds: ms)
        if payload.fanout == true {
            try await context.step.sendEvent("chaos.fanout", ["from": context.runID.lowercasedString])
        }
        return ["steps": 7]
    }

    static let fanout = ["chaos/fanout-a", "chaos/fanout-b", "chaos/fanout-c"]

    static func fanoutHandler(_ id: String) -> NightshiftFunction {
        NightshiftFunction(id: id, triggers: [.event("chaos.fanout")], payload: NoPayload.self) { _, context in
            try await checkedStep("work", context, milliseconds: 100)
            try await checkedTransaction("record", context)
            return NoPayload()
        }
    }

    /// One running run at a time, everywhere; the harness samples nightshift.runs for two.
    static let singleton = NightshiftFunction(id: "chaos/singleton", concurrency: .singleton, payload: Payload.self) { payload, context in
        try await checkedStep("hold", context, milliseconds: min(max(payload.stepMs ?? 300, 0), 10_000))
        try await checkedTransaction("record", context)
        return NoPayload()
    }

    /// At most two running runs per tenant.
    static let limited = NightshiftFunction(
        id: "chaos/limited", concurrency: .limit(2, key: "tenant"), payload: Payload.self
    ) { payload, context in
        try await checkedStep("hold", context, milliseconds: min(max(payload.stepMs ?? 300, 0), 10_000))
        try await checkedTransaction("record", context)
        return NoPayload()
    }

    /// One notification per run (deduplicated by run, so a replayed step sends nothing new),
    /// under the daily cap, delivered to the harness's webhook receiver.
    static let notify = NightshiftFunction(id: "chaos/notify", payload: Payload.self) { payload, context in
        guard let user = payload.user else { throw NonRetriableError("chaos/notify needs a user") }
        let (database, runID) = (context.database, context.runID)
        let outcome = try await context.step.run("send") {
            try await Notifier(database: database).send(
                to: user, title: "chaos", message: "run \(runID.lowercasedString)",
                metadataJSON: #"{"source": "chaos"}"#, dedupeKey: "chaos:\(runID.lowercasedString)"
            ).name
        }
        return ["outcome": outcome]
    }
}
