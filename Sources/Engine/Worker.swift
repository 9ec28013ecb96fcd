import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Synchronization
import Tracing

/// Claims runs with `FOR UPDATE SKIP LOCKED` under a lease, executes them, and writes the
/// outcome: completed (batched), retried with backoff, failed, or suspended by a durable
/// sleep. Woken by LISTEN/NOTIFY on `nightshift_runs`, with a poll as the fallback.
public final class Worker: Service, Sendable {
    let registry: FunctionRegistry
    let database: PostgresPool
    let options: WorkerOptions
    let logger: Logger
    let metrics = EngineMetrics()
    let inFlightRuns = InFlightRuns()
    let wake = WakeSignal()
    /// Set with a wake-up that asks the claim loop to claim (every one but a hand-off of the
    /// listener's runs, see ``requestClaim()``).
    let claimWanted = Atomic<Bool>(false)
    /// What the listener claimed on a NOTIFY (Worker+ClaimOnNotify.swift), for the claim loop to start.
    let inbox = ClaimedInbox()
    /// Whether a run that ends should ask for a claim for its freed slot.
    let backlog = SlotBacklog()
    private let wakeTimer = WakeTimer()
    let completions: CompletionBatcher
    /// Set when the drain timed out: the runs still executing are being cancelled and handed
    /// back to the queue, so their cancellation is not a failure.
    let handingBack = Flag()
    /// Loads the functions defined from SQL (nil: this worker runs only its registry's).
    let definedLoader: DefinedFunctions?
    /// The functions defined from SQL as last loaded; the registry's win on a shared id.
    let defined = Mutex<[String: NightshiftFunction]>([:])
    /// `DefinedFunctions.version` as read before the last load: the periodic check compares.
    let definedVersion = Mutex<String?>(nil)
    let reloads = WakeSignal()

    /// `defined`: also run the functions defined from SQL (`nightshift.define_function`),
    /// loaded at start and reloaded on NOTIFY `nightshift_functions`, and when the periodic
    /// check (`options.definedFunctionsCheck`) finds them changed.
    public init(
        registry: FunctionRegistry, database: PostgresPool, options: WorkerOptions = WorkerOptions(), logger: Logger,
        defined: DefinedFunctions? = nil
    ) {
        self.registry = registry
        self.definedLoader = defined
        self.database = database
        self.options = options
        var logger = logger
        logger[metadataKey: "worker"] = "\(options.workerID)"
        self.logger = logger
        self.completions = CompletionBatcher(database: database)
    }

    /// Runs until graceful shutdown (or cancellation), then drains in-flight runs.
    public func run() async throws {
        // A run's NOTIFY is answered on the listener's thread, with a claim on the listener's own
        // connection (Worker+ClaimOnNotify.swift): pickup latency is the worker's promise, and each
        // hop on the way (a task, the pool, a sleeping backend) costs about as much as the claim.
        let probe = "probe:\(options.workerID)"
        if definedLoader != nil { await reloadDefined() }
        let listener = PostgresListener(
            configuration: database.configuration,
            channels: ["nightshift_runs"] + (definedLoader == nil ? [] : [DefinedFunctions.channel]),
            onConnectionError: { [logger] error in logger.warning("listener connection lost", metadata: ["error": "\(error)"]) },
            onNotifications: { notifications, session in
                self.answer(notifications, on: session, probe: probe)
            },
            onConnected: { session in self.primeClaims(on: session) })
        logger.info("worker started", metadata: [
            "concurrency": "\(options.concurrency)", "functions": "\(registry.functions.keys.sorted())",
        ])
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.listen(listener, probe: probe) }
                group.addTask { await self.poll() }
                group.addTask { await self.heartbeat() }
                if self.definedLoader != nil {
                    group.addTask { await self.reloadLoop() }
                    group.addTask { await self.checkDefined() }
                }
                await self.claimLoop()
                // The claim loop ends only on shutdown; the helpers follow it.
                listener.stop()
                reloads.finish()
                wakeTimer.cancel()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.wake.finish()
        }
        logger.info("worker stopped")
    }

    /// Turns notifications into wake-ups, and checks once that a NOTIFY really arrives:
    /// behind a transaction pooler it does not, and the worker must rely on polling.
    private func listen(_ listener: PostgresListener, probe: String) async {
        var probing: Task<Void, Never>?
        let probeAnswered = Flag()
        for await event in listener {
            switch event {
            case .listening:
                requestClaim()  // notifications may have been missed while disconnected
                if definedLoader != nil { reloads.signal() }
                if probing == nil {
                    probing = Task { await self.probeNotifications(probe, answered: probeAnswered) }
                }
            case .notification(let notification):
                // Run notifications were answered on the listener's thread (onNotifications).
                // A probe that came with the answer to one of the listener's own statements proves
                // nothing: behind a transaction pooler, that statement may have run on a server
                // session that LISTENed for another client (the next probe decides).
                if notification.payload == probe, notification.arrivedWhileIdle, !probeAnswered.isSet {
                    probeAnswered.set()
                    logger.debug("NOTIFY reaches this worker")
                }
            }
        }
        probing?.cancel()  // shut down before it could tell
    }

    /// Sends the probe every 250 ms until the listener received one while idle; warns after 2 s.
    private func probeNotifications(_ probe: String, answered: Flag) async {
        let deadline = ContinuousClock.now + .seconds(2)
        while !answered.isSet, ContinuousClock.now < deadline, !Task.isCancelled {
            _ = try? await database.execute("select pg_notify('nightshift_runs', \(probe))")
            try? await Task.sleep(for: .milliseconds(250))
        }
        if !answered.isSet, !Task.isCancelled {
            logger.warning("NOTIFY does not reach this worker (a transaction pooler?): relying on polling", metadata: [
                "poll_interval": "\(options.pollInterval)",
            ])
        }
    }

    /// Reloads the functions defined from SQL on each signal (NOTIFY, or a reconnected listener).
    private func reloadLoop() async {
        for await _ in reloads.stream {
            if Task.isCancelled { break }
            await reloadDefined()
        }
    }

    /// Reloads when the functions defined from SQL changed since the last load, checked every
    /// `definedFunctionsCheck`: the NOTIFY does not reach a worker behind a transaction pooler,
    /// and a notification is lost while the listener reconnects.
    private func checkDefined() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: options.definedFunctionsCheck)
            if Task.isCancelled { break }
            guard let version = try? await DefinedFunctions.version(of: database) else { continue }
            if definedVersion.withLock({ $0 }) != version {
                logger.debug("the functions defined from SQL changed (periodic check)")
                reloads.signal()
            }
        }
    }

    /// Reads the functions defined from SQL; on failure keeps the ones loaded before.
    func reloadDefined() async {
        guard let definedLoader else { return }
        do {
            // Read before the load: a change committed in between is seen again by the next check.
            let version = try await DefinedFunctions.version(of: database)
            let (functions, problems) = try await definedLoader.load(from: database)
            definedVersion.withLock { $0 = version }
            for problem in problems { logger.error("cannot run a function defined from SQL", metadata: ["problem": "\(problem)"]) }
            let before = defined.withLock { current in
                defer { current = functions }
                return Set(current.keys)
            }
            if before != Set(functions.keys) {
                logger.info("functions defined from SQL loaded", metadata: ["functions": "\(functions.keys.sorted())"])
            }
            requestClaim()  // runs of a newly defined function may be waiting
        } catch {
            if !Task.isCancelled { logger.warning("could not load the functions defined from SQL", metadata: ["error": "\(error)"]) }
        }
    }

    /// The function to run for `id`: the registry's, else the one defined from SQL.
    func function(_ id: String) -> NightshiftFunction? {
        registry.functions[id] ?? defined.withLock { $0[id] }
    }

    /// Every function id this worker runs.
    var functionIDs: [String] {
        Array(Set(registry.functions.keys).union(defined.withLock { $0.keys }))
    }

    private func poll() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: options.pollInterval)
            requestClaim()
        }
    }

    /// Renews every held lease each third of the lease; a run whose lease is gone is marked
    /// lost, so it stops before its next step (the database refuses its writes anyway).
    private func heartbeat() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: options.lease / 3)
            let held = inFlightRuns.snapshot()
            guard !held.isEmpty else { continue }
            do {
                let kept = Set(try await database.query("""
                    select nightshift.heartbeat(\(held.map(\.id)), \(held.map { Int($0.token) }), \(options.leaseInterval)::interval)
                    """).map { try $0.decode(UUID.self, at: 0) })
                let lost = held.map(\.id).filter { !kept.contains($0) }
                if !lost.isEmpty {
                    inFlightRuns.markLost(lost)
                    logger.warning("leases lost", metadata: ["runs": "\(lost)"])
                }
            } catch {
                logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Wakes the claim loop to claim what is due (a NOTIFY missed, the poll, a timer, a freed slot).
    func requestClaim() {
        claimWanted.store(true, ordering: .releasing)
        wake.signal()
    }

    private func claimLoop() async {
        await withDiscardingTaskGroup { runs in
            for await _ in wake.stream {
                options.pickupObserver?(.woke, Date())
                let notified = inbox.take()
                start(notified, reserved: notified.count, in: &runs)
                guard claimWanted.exchange(false, ordering: .acquiringAndReleasing) else { continue }
                var drained = false
                while true {
                    let wanted = inFlightRuns.reserve(upTo: options.claimBatch, of: options.concurrency)
                    guard wanted > 0 else {
                        backlog.mark()  // slots full: runs may be left for the next one to free
                        break
                    }
                    let marks = backlog.current
                    let claimed: [ClaimedRun]
                    do {
                        claimed = try await claim(wanted)
                        options.pickupObserver?(.claimed(claimed.map(\.id)), Date())
                    } catch {
                        inFlightRuns.unreserve(wanted)
                        backlog.mark()
                        if Task.isCancelled { break }  // shutting down: not a failure
                        logger.error("claim failed", metadata: ["error": "\(error)"])
                        try? await Task.sleep(for: .milliseconds(200))
                        break
                    }
                    start(claimed, reserved: wanted, in: &runs)
                    if claimed.count < wanted {
                        backlog.clear(upTo: marks)
                        drained = true
                        break
                    }
                }
                // Nothing more is due now: wake up when the next run comes due.
                if drained { await armWakeTimer() }
            }
            // What the listener claimed after the last wake-up never started: back to the queue.
            let unstarted = inbox.close()
            inFlightRuns.unreserve(unstarted.count)
            await handBack(unstarted.map { ($0.id, $0.leaseToken) })
            await drain(cancelRuns: { runs.cancelAll() })
        }
    }

    /// Starts claimed runs, each in a slot of the `reserved` ones its claim took (the rest are
    /// given back); a quarantined run only has its onFailure called, and takes no slot.
    private func start(_ claimed: [ClaimedRun], reserved: Int, in runs: inout DiscardingTaskGroup) {
        var admitted = 0
        for run in claimed {
            if run.quarantined {
                runs.addTask { await self.quarantined(run) }
                continue
            }
            inFlightRuns.admit(run.id, token: run.leaseToken)
            admitted += 1
            let function = self.function(run.functionID)
            let limited = function?.concurrency != .unlimited
            runs.addTask {
                let completed = await self.execute(run, function: function)
                self.inFlightRuns.remove(run.id)
                // The freed slot is worth a claim when runs may be waiting for it, when the run
                // left work behind (a retry or sleep to time), or when it freed a place in a
                // concurrency group whose queued runs only a claim takes.
                if !completed || limited || self.backlog.isMarked { self.requestClaim() }
            }
        }
        inFlightRuns.unreserve(reserved - admitted)
    }

    /// Waits up to the drain timeout for running runs. What still runs then is cancelled (its
    /// statements too) and handed back to the queue at once, so another worker resumes it after
    /// its last finished step now rather than when the lease would have expired.
    private func drain(cancelRuns: () -> Void) async {
        guard await waitForRuns(upTo: options.drainTimeout) else { return }
        let held = inFlightRuns.snapshot()
        logger.warning("drain timeout: cancelling the runs still executing and handing them back", metadata: [
            "runs": "\(held.count)", "drain_timeout": "\(options.drainTimeout)",
        ])
        handingBack.set()
        // No new step starts, and the running ones are cancelled; whatever they still manage to
        // write before the hand-over is theirs, after it the database refuses it (NSL01).
        inFlightRuns.markLost(held.map(\.id))
        cancelRuns()
        _ = await waitForRuns(upTo: .seconds(2))
        await handBack(held)
    }

    /// Releases runs this worker holds to the queue at once (`nightshift.release_runs`), so another
    /// worker resumes them now rather than when their leases expire.
    private func handBack(_ held: [(id: UUID, token: Int64)]) async {
        guard !held.isEmpty else { return }
        do {
            let released = try await database.query("""
                select nightshift.release_runs(\(held.map(\.id)), \(held.map { Int($0.token) }))
                """).count
            logger.info("runs handed back to the queue", metadata: ["runs": "\(released)"])
        } catch {
            logger.error("could not hand runs back; they resume when their leases expire", metadata: ["error": "\(error)"])
        }
    }

    /// Waits until no run executes or `limit` passed (or the task is cancelled); true when runs remain.
    private func waitForRuns(upTo limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while inFlightRuns.count > 0, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return inFlightRuns.count > 0
    }

    /// Asks the database when the next run of this worker's functions becomes claimable and arms
    /// the timer for then. Runs that another process schedules later are learnt at the next
    /// poll, which also arms the timer (retry backoffs start at 1 s, the poll is 500 ms).
    private func armWakeTimer() async {
        let milliseconds: Double?
        do {
            // Measured on the database's clock: another host's clock may disagree with this one.
            milliseconds = try await database.query("""
                select extract(epoch from nightshift.next_wake_at(\(functionIDs)) - clock_timestamp())::float8 * 1000
                """)[0].decode(Double?.self, at: 0)
        } catch {
            if !Task.isCancelled { logger.warning("could not read the next wake-up; polling", metadata: ["error": "\(error)"]) }
            return
        }
        guard let milliseconds else { return }
        // At least a millisecond: the instant is in the future by construction, the floor only
        // bounds the loop should it not be.
        wakeTimer.arm(at: .now + .milliseconds(max(1, Int64(milliseconds.rounded(.up))))) { [weak self] in self?.requestClaim() }
    }

    private func claim(_ count: Int) async throws -> [ClaimedRun] {
        let functionIDs = self.functionIDs
        return try ClaimedRun.decode(await database.query(.prepared("""
            select c.*\(unescaped: options.bookkeepingCommits.selectSuffix)
            from nightshift.claim_runs(\(options.workerID), \(count)::int, \(options.leaseInterval)::interval, \(functionIDs)) c
            """)))
    }
}

/// A flag set once, read from another task.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
