import ArgumentParser
import Engine
import Foundation

/// `nightshift runs`: recent runs, newest first.
struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runs", abstract: "List recent runs, newest first.")

    @OptionGroup var options: GlobalOptions

    @Option(help: "Only runs of this function.")
    var function: String?

    @Option(help: "Only runs with this status: queued, running, completed, failed, cancelled.")
    var status: String?

    @Option(help: "How many.")
    var limit = 20

    func run() async throws {
        if let status, !["queued", "running", "completed", "failed", "cancelled"].contains(status) {
            throw ValidationError("--status must be one of queued, running, completed, failed, cancelled")
        }
        let runtime = try Runtime(options: options, component: "runs", applicationName: "nightshift-cli")
        let runs = try await runtime.client.runs(functionID: function, status: status, limit: limit)
        print("id                                    function                              status       attempt  trigger  created (UTC)")
        for run in runs {
            print([
                run.id.uuidString.lowercased(), run.functionID.padding(toLength: 36, withPad: " ", startingAt: 0),
                run.displayStatus.padding(toLength: 11, withPad: " ", startingAt: 0), "\(run.attempt)/\(run.maxAttempts)".padding(toLength: 7, withPad: " ", startingAt: 0),
                run.trigger.padding(toLength: 7, withPad: " ", startingAt: 0), run.createdAt.formatted(.iso8601),
            ].joined(separator: "  "))
        }
        await runtime.database.close()
    }
}

/// `nightshift cancel <run>`.
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a queued or running run.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The run id.")
    var runID: String

    func run() async throws {
        let id = try parseRunID(runID)
        let runtime = try Runtime(options: options, component: "cancel", applicationName: "nightshift-cli")
        let cancelled = try await runtime.client.cancel(id)
        await runtime.database.close()
        print(cancelled ? "run \(runID) cancelled" : "run \(runID) had already finished (or does not exist)")
        if !cancelled { throw ExitCode.failure }
    }
}

/// `nightshift rerun <run>`.
struct RerunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rerun", abstract: "Run a run's function again with the same payload.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The run id.")
    var runID: String

    func run() async throws {
        let id = try parseRunID(runID)
        let runtime = try Runtime(options: options, component: "rerun", applicationName: "nightshift-cli")
        let new = try await runtime.client.rerun(id)
        await runtime.database.close()
        print("run \(new.uuidString.lowercased()) queued (rerun of \(runID))")
    }
}
