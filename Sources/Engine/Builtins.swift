import Foundation
import Postgres

/// Functions every Nightshift process declares: a no-op for throughput checks and a
/// diagnostic that exercises steps, retries, timeouts and durable sleeps end to end, so a
/// deployment can be checked from a SQL console (`select nightshift.trigger('nightshift/diagnostics')`).
public enum Builtins {
    /// Both, for a worker's function list: every process declares them, so a sync never retires them.
    public static let all: [NightshiftFunction] = [noop, diagnostics]

    /// Does nothing and returns `{}`.
    public static let noop = NightshiftFunction(id: "nightshift/noop", payload: NoPayload.self) { _, _ in
        NoPayload()
    }

    /// What the diagnostic does, from its payload (every field optional).
    public struct DiagnosticsPayload: Codable, Sendable {
        /// Checkpointed steps to run; each records one row in `nightshift.diagnostic_effects`.
        public var steps: Int?
        /// How long each step takes (server-side `pg_sleep`).
        public var stepMs: Int?
        /// Fail this many attempts (with a transient error) before succeeding.
        public var failAttempts: Int?
        /// Fail at once, without retries.
        public var nonRetriable: Bool?
        /// A durable sleep after the first step.
        public var sleepMs: Int?

        enum CodingKeys: String, CodingKey {
            case steps
            case stepMs = "step_ms"
            case failAttempts = "fail_attempts"
            case nonRetriable = "non_retriable"
            case sleepMs = "sleep_ms"
        }
    }

    /// The diagnostic's result.
    public struct DiagnosticsOutput: Codable, Sendable {
        /// Steps run (after clamping the payload's `steps` to 0…100).
        public let steps: Int
        /// The attempt that succeeded: 1 + the failures asked for with `fail_attempts`.
        public let attempt: Int
    }

    /// A simulated transient failure (a lost connection, a 503 …).
    struct SimulatedTransientFailure: Error, CustomStringConvertible, TransienceClassified {
        let attempt: Int
        var isTransient: Bool { true }
        var description: String { "simulated transient failure on attempt \(attempt)" }
    }

    /// `nightshift/diagnostics`: checkpointed transactional steps, optional transient failures, a
    /// non-retriable failure and a durable sleep, driven by a ``DiagnosticsPayload``. Each step
    /// writes a row to `nightshift.diagnostic_effects` in the step's transaction, so the row count
    /// proves each ran exactly once; 3 retries.
    public static let diagnostics = NightshiftFunction(
        id: "nightshift/diagnostics", retries: 3, payload: DiagnosticsPayload.self
    ) { payload, context in
        if payload.nonRetriable == true {
            throw NonRetriableError("diagnostics asked to fail without retries")
        }
        if context.attempt <= (payload.failAttempts ?? 0) {
            throw SimulatedTransientFailure(attempt: context.attempt)
        }
        let steps = min(max(payload.steps ?? 3, 0), 100)
        let seconds = Double(min(max(payload.stepMs ?? 0, 0), 60_000)) / 1000
        for index in 1...max(steps, 1) where steps > 0 {
            let name = "step-\(index)"
            // A transactional step: the effect row and the checkpoint commit together, so the
            // effect count proves each step ran exactly once.
            let (runID, attempt) = (context.runID, context.attempt)
            try await context.step.transaction(name) { connection in
                try connection.execute("""
                    insert into nightshift.diagnostic_effects (run_id, step, attempt)
                    select \(runID), \(name), \(attempt) from pg_sleep(\(seconds))
                    """)
                return index
            }
            if index == 1, let sleep = payload.sleepMs, sleep > 0 {
                try await context.step.sleep("pause", for: .milliseconds(sleep))
            }
        }
        return DiagnosticsOutput(steps: steps, attempt: context.attempt)
    }
}
