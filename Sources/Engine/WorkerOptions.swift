import Foundation

/// How one worker process claims and runs.
public struct WorkerOptions: Sendable {
    /// Runs executing at once in this process.
    public var concurrency: Int
    /// Most runs claimed in one statement.
    public var claimBatch: Int
    /// How long a claim holds; renewed every third of it while the run executes.
    public var lease: Duration
    /// Claim even without a NOTIFY this often (retries and sleeps coming due, lost notifications).
    public var pollInterval: Duration
    /// How long a graceful shutdown waits for running runs before leaving them to their leases.
    public var drainTimeout: Duration
    /// Names this worker in leases and logs.
    public var workerID: String
    /// Whether claims and `step.run` checkpoints wait for their commit to reach disk.
    public var bookkeepingCommits: CommitDurability
    /// How often a worker that runs the functions defined from SQL checks, without a NOTIFY,
    /// whether they changed (one cheap query; behind a transaction pooler LISTEN hears nothing).
    public var definedFunctionsCheck: Duration
    /// Whether a run's NOTIFY is answered with a claim on the listener's connection (the default)
    /// or only wakes the claim loop (bench/engine compares the two: BENCH_CLAIM_ON_NOTIFY=0).
    package var claimOnNotification = true
    /// Told the moments of each pickup (bench/engine's latency breakdown); nil in production.
    package var pickupObserver: PickupObserver?

    /// Options for one worker process; by default 50 runs at once, claims of up to
    /// 500, a 30 s lease, a 500 ms fallback poll, a 25 s drain, a generated worker id, and
    /// checkpoints that do not wait for the disk (see ``CommitDurability``).
    public init(
        concurrency: Int = 50, claimBatch: Int = 500, lease: Duration = .seconds(30),
        pollInterval: Duration = .milliseconds(500), drainTimeout: Duration = .seconds(25),
        workerID: String = WorkerOptions.defaultWorkerID(), bookkeepingCommits: CommitDurability = .asynchronous,
        definedFunctionsCheck: Duration = .seconds(30)
    ) {
        self.definedFunctionsCheck = definedFunctionsCheck
        self.bookkeepingCommits = bookkeepingCommits
        self.concurrency = concurrency
        self.claimBatch = claimBatch
        self.lease = lease
        self.pollInterval = pollInterval
        self.drainTimeout = drainTimeout
        self.workerID = workerID
    }

    /// `host:pid:random`, unique per process.
    public static func defaultWorkerID() -> String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8).lowercased())"
    }

    var leaseInterval: String { "\(lease.milliseconds) milliseconds" }
}
