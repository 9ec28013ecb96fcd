import ArgumentParser

/// How a long-running command stops on SIGTERM or SIGINT.
struct ShutdownOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Seconds to let running runs finish on SIGTERM/SIGINT; then they are cancelled and handed back to the queue. "
            + "The process exits within this plus 5 s.",
        valueName: "seconds"))
    var drainSeconds = 25

    func validate() throws {
        guard (0...3600).contains(drainSeconds) else { throw ValidationError("--drain-seconds must be between 0 and 3600") }
    }

    var drainTimeout: Duration { .seconds(drainSeconds) }
}
