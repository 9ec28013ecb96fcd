import ArgumentParser
import Engine
import Foundation
import Logging
import Postgres
import ServiceLifecycle

/// `nightshift run <function>`: trigger a run now, optionally wait for its outcome.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Trigger a function now (e.g. nightshift run reports/nightly-refresh --wait).",
        discussion: """
            Without --wait it prints the run id and leaves the run to the workers. With --wait it
            also executes runs of this function in this process (declared by this binary, or
            defined from SQL with nightshift.define_function) until this one finishes (runs it
            starts through events are left to the workers), showing its progress (on a terminal one line with the steps done and the time elapsed, otherwise a line per finished step), and exits non-zero when the run fails or is cancelled. Works when
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
        // This binary's declaration of the function it will run, and nothing else: syncing its
        // whole registry would retire the functions other builds' workers declare.
        if wait { try await runtime.registry.only([function]).declare(to: runtime.database) }
        let id = try await runtime.client.trigger(function, payloadJSON: payload, idempotencyKey: idempotencyKey)
        print("run \(id.lowercasedString) queued (\(function))")
        guard wait else {
            await runtime.database.close()
            return
        }
        // Only this function: a run it starts (an event's handler) is left to the workers, not
        // picked up here and cut short when this command exits.
        // A function this binary does not declare may be defined from SQL: the worker loads it
        // (and only it) from the database, as `nightshift worker` does. Neither: nothing here
        // could run it, and waiting would never end.
        var defined: DefinedFunctions?
        if runtime.registry.functions[function] == nil {
            let loader = Functions.defined(config: runtime.config, http: runtime.http).only([function])
            guard try await !loader.load(from: runtime.database).functions.isEmpty else {
                await runtime.database.close()
                printError("run --wait: \(function) is neither declared by this binary nor defined from SQL (an active sql or http function); the run is queued for a worker that declares it")
                throw ExitCode.failure
            }
            defined = loader
        }
        let worker = Worker(
            registry: runtime.registry.only([function]), database: runtime.database, options: WorkerOptions(concurrency: 4),
            logger: runtime.logger, defined: defined)
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
        // A completed run may keep the error of an earlier, retried attempt: only a run that
        // did not complete is explained by it.
        if outcome.status != "completed", let error = outcome.error { print("error: \(error.jsonText)") }
        if outcome.status != "completed" { throw ExitCode.failure }
    }

    /// Polls the run until it ends, showing progress: on a terminal one line, rewritten in place,
    /// with the steps done and the time elapsed; otherwise a line per finished step.
    private func follow(_ id: UUID, client: EngineClient) async throws -> RunRecord? {
        let progress = StepProgress(interactive: isatty(STDOUT_FILENO) != 0)
        defer { progress.finish() }
        while !Task.isCancelled {
            guard let record = try await client.run(id) else { return nil }
            var names: [String] = []
            if case .array(let steps) = record.steps {
                for step in steps { if case .string(let name) = step["name"] { names.append(name) } }
            }
            progress.update(steps: names, status: record.status)
            if ["completed", "failed", "cancelled"].contains(record.status) { return record }
            try await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }
}

/// The progress of `run --wait`: on a terminal one updating line (`3 steps done, 4.2 s
/// elapsed, running`), otherwise one line per finished step, with the time elapsed.
final class StepProgress: @unchecked Sendable {
    let interactive: Bool
    let started = ContinuousClock.now
    private var printed = 0
    private var lineShown = false

    init(interactive: Bool) {
        self.interactive = interactive
    }

    func update(steps: [String], status: String) {
        let elapsed = secondsText(ContinuousClock.now - started)
        if interactive {
            let last = steps.last.map { ", last \($0)" } ?? ""
            // \r and erase-line: the same line, rewritten at each poll.
            print("\r\u{1B}[2K  \(steps.count) step\(steps.count == 1 ? "" : "s") done\(last), \(elapsed) elapsed, \(status)", terminator: "")
            lineShown = true
        } else {
            for name in steps.dropFirst(printed) { print("  step \(name) done (\(elapsed))") }
        }
        printed = steps.count
        fflush(nil)
    }

    func finish() {
        if lineShown { print("") }
        lineShown = false
    }
}
