import ArgumentParser
import Engine
import Foundation
import Logging
import ServiceLifecycle

/// `nightshift run <function>`: trigger a run now, optionally wait for its outcome.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Trigger a function now (e.g. nightshift run dossier/refresh-health-scores --wait).",
        discussion: """
            Without --wait it prints the run id and leaves the run to the workers. With --wait it
            also executes runs of this function in this process until this one finishes (runs it
            starts through events are left to the workers), printing a line per finished step, and exits non-zero when the run fails or is cancelled. Works when
            scheduled jobs are disabled (ENABLE_SCHEDULED_JOBS=false).
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The function id.")
    var function: String

    @Option(help: "The payload, a JSON object.")
    var payload = "{}"

    @Option(help: "Idempotency key: the same key returns the existing run.")
    var idempotencyKey: String?

    @Flag(help: "Execute and wait for the outcome.")
    var wait = false

    func run() async throws {
        guard (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) is [String: Any] else {
            throw ValidationError("--payload must be a JSON object, got \(payload)")
        }
        let runtime = try Runtime(options: options, component: "run", applicationName: "nightshift-run", extraConnections: 1)
        if wait { try await runtime.registry.sync(to: runtime.database) }
        let id = try await runtime.client.trigger(function, payloadJSON: payload, idempotencyKey: idempotencyKey)
        print("run \(id.uuidString.lowercased()) queued (\(function))")
        guard wait else {
            await runtime.database.close()
            return
        }
        // Only this function: a run it starts (an event's handler) is left to the workers, not
        // picked up here and cut short when this command exits.
        let worker = Worker(registry: runtime.registry.only([function]), database: runtime.database, options: WorkerOptions(concurrency: 4), logger: runtime.logger)
        let outcome = try await withThrowingTaskGroup(of: RunRecord?.self) { group in
            group.addTask {
                try await worker.run()
                return nil
            }
            group.addTask { try await follow(id, client: runtime.client) }
            let record = try await group.next()!
            group.cancelAll()
            return record
        }
        await runtime.database.close()
        guard let outcome else { throw ExitCode.failure }
        print("run \(outcome.displayStatus) after \(outcome.attempt) attempt(s)")
        if let output = outcome.output { print("output: \(output.jsonText)") }
        if let error = outcome.error { print("error: \(error.jsonText)") }
        if outcome.status != "completed" { throw ExitCode.failure }
    }

    /// Polls the run, printing each newly finished step, until it ends.
    private func follow(_ id: UUID, client: EngineClient) async throws -> RunRecord? {
        var printed = 0
        while !Task.isCancelled {
            guard let record = try await client.run(id) else { return nil }
            if case .array(let steps) = record.steps {
                for step in steps.dropFirst(printed) {
                    if case .string(let name) = step["name"] { print("  step \(name) done") }
                }
                printed = steps.count
            }
            if ["completed", "failed", "cancelled"].contains(record.status) { return record }
            try await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }
}
