import ArgumentParser
import Engine
import Foundation
import Postgres

/// `nightshift runs`: recent runs, newest first.
struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runs", abstract: "List recent runs, newest first.")

    @OptionGroup var options: GlobalOptions

    @Option(help: "Only runs of this function.")
    var function: String?

    @Option(help: "Only runs with this status.")
    var status: RunStatus?

    @Option(help: "How many.")
    var limit = 20

    @OptionGroup var output: OutputOptions

    /// A run's stored status (`--status` completes and validates these).
    enum RunStatus: String, ExpressibleByArgument, CaseIterable {
        case queued, running, completed, failed, cancelled
    }

    /// JSON keys: id, function_id, status (quarantined or retired for a failed run the engine
    /// ended), attempt, max_attempts, trigger, created_at, started_at, finished_at (ISO 8601, UTC).
    static var listing: Listing<RunRecord> { Listing(
        json: { run in
            [
                ("id", .string(run.id.lowercasedString)), ("function_id", .string(run.functionID)),
                ("status", .string(run.displayStatus)), ("attempt", .int(run.attempt)), ("max_attempts", .int(run.maxAttempts)),
                ("trigger", .string(run.trigger)), ("created_at", .date(run.createdAt)), ("started_at", .date(run.startedAt)),
                ("finished_at", .date(run.finishedAt)),
            ]
        },
        columns: [
            ("id", { $0.id.lowercasedString }), ("function", \.functionID), ("status", \.displayStatus),
            ("attempt", { "\($0.attempt)/\($0.maxAttempts)" }), ("trigger", \.trigger), ("created (UTC)", { tableDate($0.createdAt) }),
        ]) }

    func run() async throws {
        let runtime = try Runtime(options: options, component: "runs", applicationName: "nightshift-cli")
        let runs = try await runtime.client.runs(functionID: function, status: status?.rawValue, limit: limit)
        await runtime.database.close()
        print(Self.listing.render(runs, as: output.output))
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
        print("run \(new.lowercasedString) queued (rerun of \(runID))")
    }
}
