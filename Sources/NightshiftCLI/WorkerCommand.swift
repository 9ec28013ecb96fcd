import ArgumentParser
import Engine
import Logging
import ServiceLifecycle

/// `nightshift worker`: the ticker and the workers.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run the ticker, workers and notification dispatcher: claim runs, execute them, enqueue cron slots, deliver notifications.",
        discussion: """
            Syncs the declared functions into nightshift.functions/schedules, then claims runs
            (woken by LISTEN/NOTIFY, polling as a fallback) and calls nightshift.tick() every
            second. Several workers may run against one database. Stops gracefully on SIGINT/SIGTERM.
            """)

    @OptionGroup var options: GlobalOptions

    @Option(help: "Runs executing at once in this process.")
    var concurrency = 50

    @Option(help: "Lease length in seconds (renewed every third of it while a run executes).")
    var leaseSeconds = 30

    @Flag(help: "Do not run the ticker in this process (another process or pg_cron ticks).")
    var noTicker = false

    @Flag(help: "Claims and step checkpoints wait for their commit to reach disk (slower; see README \"Durability\").")
    var syncCheckpoints = false

    @OptionGroup var shutdown: ShutdownOptions

    @OptionGroup var databaseWait: DatabaseWaitOptions

    func run() async throws {
        guard concurrency > 0 else { throw ValidationError("--concurrency must be at least 1") }
        let runtime = try Runtime(options: options, component: "worker", applicationName: "nightshift-worker", extraConnections: 2)
        // Before the first database call, so a bad OTEL_* setting stops start-up at once.
        // The pool first and tracing second: services stop in reverse order, so the pool closes
        // last and the exporter flushes after the worker stopped.
        var services: [any Service] = [runtime.database]
        services += try runtime.bootstrapTracing().map { [$0] } ?? []
        try await runtime.waitForDatabase(upTo: databaseWait.limit)
        try await runtime.registry.sync(to: runtime.database)
        try await runtime.checkLoginRole(exposed: false)
        try await runtime.configureNotifications()
        try await runtime.configureEngine()
        let worker = Worker(
            registry: runtime.registry, database: runtime.database,
            options: WorkerOptions(
                concurrency: concurrency, lease: .seconds(leaseSeconds), drainTimeout: shutdown.drainTimeout,
                bookkeepingCommits: syncCheckpoints ? .synchronous : .asynchronous),
            logger: runtime.logger,
            defined: Functions.defined(config: runtime.config, http: runtime.http))
        services.append(contentsOf: [worker, runtime.deliveryDispatcher] as [any Service])
        if !noTicker { services.append(Ticker(database: runtime.database, logger: runtime.logger)) }
        try await runtime.serviceGroup(services, drain: shutdown.drainTimeout).run()
        await runtime.database.close()
    }
}
