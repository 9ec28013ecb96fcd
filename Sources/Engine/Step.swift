import Foundation
import Logging
import Postgres
import Synchronization
import Tracing

/// The step API of one run. `run` executes a named piece of work once per run: its result is
/// stored in `nightshift.steps` when it finishes, and a retried or resumed run gets the stored
/// value back without running it again. Steps of one run are meant to be awaited one after
/// another (the handler is ordinary sequential code).
public final class Step: Sendable {
    let runID: UUID
    let leaseToken: Int64
    let database: PostgresPool
    let logger: Logger
    let metrics: EngineMetrics
    let functionID: String
    let checkpointCommits: CommitDurability
    /// True once the heartbeat learned the lease is gone: no new step starts.
    let isLost: @Sendable () -> Bool
    private let state: Mutex<State>

    struct State {
        /// Outputs of finished steps by name (from the claim, plus the ones finished now).
        var memo: [String: Data]
        /// How often each name was used in this execution, to tell repeated names apart.
        var uses: [String: Int] = [:]
    }

    init(runID: UUID, functionID: String, leaseToken: Int64, memo: [String: Data], checkpointCommits: CommitDurability = .synchronous,
        database: PostgresPool, logger: Logger, metrics: EngineMetrics, isLost: @escaping @Sendable () -> Bool = { false }) {
        self.checkpointCommits = checkpointCommits
        self.isLost = isLost
        self.runID = runID
        self.functionID = functionID
        self.leaseToken = leaseToken
        self.database = database
        self.logger = logger
        self.metrics = metrics
        self.state = Mutex(State(memo: memo))
    }

    /// Runs `body` unless this run already finished a step of that name, whose stored output
    /// is returned instead. A name used again in the same run becomes `name#2`, `name#3`, …
    @discardableResult
    public func run<Output: Codable & Sendable>(
        _ name: String, _ body: @Sendable () async throws -> Output
    ) async throws -> Output {
        try await run(key: uniqueName(name), body)
    }

    private func run<Output: Codable & Sendable>(
        key: String, _ body: @Sendable () async throws -> Output
    ) async throws -> Output {
        if let stored = state.withLock({ $0.memo[key] }) {
            return try JSONDecoder.nightshift.decode(Output.self, from: stored)
        }
        if isLost() { throw LeaseLostError(runID: runID.uuidString) }
        let clock = ContinuousClock()
        let started = clock.now
        let output = try await withSpan("step \(key)") { span in
            describe(span)
            return try await body()
        }
        let json = try JSONEncoder.nightshift.encode(output)
        try await checkpoint(key, json)
        metrics.stepFinished(functionID: functionID, duration: clock.now - started)
        logger.debug("step finished", metadata: ["step": "\(key)"])
        return output
    }

    /// Runs `body` in a database transaction that also records the step, so its writes and the
    /// checkpoint commit together: a database step runs exactly once, even across a crash
    /// between the two (where `run` would run it again). A worker whose lease was lost cannot
    /// commit it at all.
    @discardableResult
    public func transaction<Output: Codable & Sendable>(
        _ name: String, _ body: @Sendable (isolated PostgresConnection) async throws -> Output
    ) async throws -> Output {
        let key = uniqueName(name)
        if let stored = state.withLock({ $0.memo[key] }) {
            return try JSONDecoder.nightshift.decode(Output.self, from: stored)
        }
        if isLost() { throw LeaseLostError(runID: runID.uuidString) }
        let clock = ContinuousClock()
        let started = clock.now
        let (runID, token) = (runID, leaseToken)
        let (output, json): (Output, Data)
        do {
            (output, json) = try await withSpan("step \(key)") { span in
                describe(span)
                return try await database.withTransaction { connection in
                    let output = try await body(connection)
                    let json = try JSONEncoder.nightshift.encode(output)
                    let text = String(decoding: json, as: UTF8.self)
                    try connection.execute("select nightshift.checkpoint_step(\(runID), \(token), \(key), \(text)::jsonb)")
                    return (output, json)
                }
            }
        } catch let error as PostgresError where error.sqlState == "NSL01" {
            throw LeaseLostError(runID: runID.uuidString)
        }
        state.withLock { $0.memo[key] = json }
        metrics.stepFinished(functionID: functionID, duration: clock.now - started)
        return output
    }

    /// A durable sleep: the run is put back in the queue until `for` has passed and resumes
    /// after this step, on whichever worker claims it, even after a restart.
    public func sleep(_ name: String, for duration: Duration) async throws {
        try await sleep(name, until: Date().addingTimeInterval(Double(duration.milliseconds) / 1000))
    }

    /// A durable sleep until a moment; see `sleep(_:for:)`.
    public func sleep(_ name: String, until: Date) async throws {
        let key = uniqueName(name)
        if state.withLock({ $0.memo[key] }) != nil { return }
        do {
            try await database.execute("select nightshift.sleep_run(\(runID), \(leaseToken), \(key), \(until))")
        } catch let error as PostgresError where error.sqlState == "NSL01" {
            throw LeaseLostError(runID: runID.uuidString)
        }
        throw RunSuspended()
    }

    /// Sends an event once per run: a retried or resumed run does not send it again.
    /// Returns the event's id.
    @discardableResult
    public func sendEvent<Data: Encodable & Sendable>(_ name: String, _ data: Data) async throws -> UUID {
        let database = database
        let key = uniqueName("send-event:\(name)")
        // The idempotency key names the run and the step, so a replayed step finds its event.
        let idempotencyKey = "run:\(runID.lowercasedString):\(key)"
        return try await run(key: key) {
            let json = String(decoding: try JSONEncoder.nightshift.encode(data), as: UTF8.self)
            return try await database.query("select nightshift.send_event(\(name), \(json)::jsonb, \(idempotencyKey))")[0]
                .decode(UUID.self, at: 0)
        }
    }

    /// The run's id on each step span too, so a step can be searched for without its parent.
    private func describe(_ span: any Span) {
        span.attributes["nightshift.run_id"] = runID.lowercasedString
    }

    private func uniqueName(_ name: String) -> String {
        state.withLock { state in
            let count = state.uses[name, default: 0] + 1
            state.uses[name] = count
            return count == 1 ? name : "\(name)#\(count)"
        }
    }

    private func checkpoint(_ key: String, _ json: Data) async throws {
        let text = String(decoding: json, as: UTF8.self)
        do {
            try await database.execute(.prepared("""
                select nightshift.checkpoint_step(\(runID), \(leaseToken), \(key), \(text)::jsonb)\(unescaped: checkpointCommits.selectSuffix)
                """))
        } catch let error as PostgresError where error.sqlState == "NSL01" {
            throw LeaseLostError(runID: runID.uuidString)
        }
        state.withLock { $0.memo[key] = json }
    }
}
