import ArgumentParser

/// How long a long-running command waits at start-up for a database it cannot reach yet.
struct DatabaseWaitOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Seconds to wait at start-up for a database that does not answer yet (retrying with backoff, "
            + "each failure logged); 0 gives up at once. A login the server rejects fails at once.",
        valueName: "seconds"))
    var waitForDatabase = 60

    func validate() throws {
        guard (0...86_400).contains(waitForDatabase) else { throw ValidationError("--wait-for-database must be between 0 and 86400") }
    }

    var limit: Duration { .seconds(waitForDatabase) }
}
