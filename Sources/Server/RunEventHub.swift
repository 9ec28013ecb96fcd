import Foundation
import Logging
import Postgres

/// One run's state change: enqueued, claimed, a step checkpointed, completed, failed,
/// cancelled, requeued for a retry or a durable sleep. Sent by `GET /api/v1/stream` as the
/// data of a `run` event: `{"id":…,"function":…,"status":…,"step":…,"at":…}`.
public struct RunChange: Sendable, Hashable {
    /// The run.
    public var id: UUID
    /// Its function's id.
    public var function: String
    /// The run's status after the change (`queued`, `running`, `completed`, `failed`, `cancelled`).
    public var status: String
    /// The step just checkpointed, or nil when the change is not a step.
    public var step: String?
    /// When the change was made (the statement's time), ISO-8601 in UTC with microseconds.
    public var at: String

    /// A change value.
    public init(id: UUID, function: String, status: String, step: String?, at: String) {
        self.id = id
        self.function = function
        self.status = status
        self.step = step
        self.at = at
    }

    /// The JSON object, keys in the wire order, the UUID lower-case.
    public var json: String {
        let step = step.map(Self.quoted) ?? "null"
        return "{\"id\":\"\(id.lowercasedString)\",\"function\":\(Self.quoted(function)),\"status\":\(Self.quoted(status)),\"step\":\(step),\"at\":\(Self.quoted(at))}"
    }

    private static func quoted(_ text: String) -> String {
        // A one-element array serialises any string with JSON's escaping; its brackets are dropped.
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}

/// What a subscriber of ``RunEventHub`` receives.
public enum RunEvent: Sendable, Hashable {
    /// A run changed; `sequence` is the hub's counter, increasing by one per change it heard.
    case run(RunChange, sequence: UInt64)
    /// Changes may have been missed (the hub's database connection was lost and came back, or
    /// one statement changed too many runs to list): refetch what is shown.
    case resync(sequence: UInt64)

    /// The hub's sequence number of this event.
    public var sequence: UInt64 {
        switch self {
        case .run(_, let sequence), .resync(let sequence): sequence
        }
    }

    /// The event as Server-Sent Events text: `event:`, `id:` and `data:` lines and a blank line.
    public var serverSentEvent: String {
        switch self {
        case .run(let change, let sequence): "event: run\nid: \(sequence)\ndata: \(change.json)\n\n"
        case .resync(let sequence): "event: resync\nid: \(sequence)\ndata: {}\n\n"
        }
    }
}

/// Run state changes from the database, fanned out to any number of subscribers in this
/// process over ONE dedicated LISTEN connection (channel `nightshift_run_events`, fed by the
/// triggers of migration 0052), never a query per subscriber.
///
/// The triggers build a notification only while some server has announced that it listens
/// (`nightshift.run_events_listen`): the hub announces itself once LISTEN succeeded and every
/// 30 s after (each announcement good for 90 s), so a database without a watching console pays
/// almost nothing. The connection opens with the first subscriber and closes when the last one
/// leaves. After
/// the connection was lost and came back, every subscriber gets ``RunEvent/resync(sequence:)``
/// (notifications sent meanwhile are gone). Each subscriber has a bounded buffer: one that
/// falls `bufferSize` events behind is dropped, its stream finished, and the others never wait
/// for it. The hub keeps no history, so its memory does not grow with the events it relays.
public actor RunEventHub {
    /// The channel 0052's triggers notify.
    public static let channel = "nightshift_run_events"

    /// How often `GET /api/v1/stream` writes a `: ping` comment (15 s by default).
    public nonisolated let pingInterval: Duration
    /// Events a subscriber may have waiting before it is dropped.
    public nonisolated let bufferSize: Int

    /// How often the hub renews its announcement, and how long each one holds.
    static let announceEvery: Duration = .seconds(30)
    static let announceSeconds = 90

    private let database: PostgresPool
    private let configuration: PostgresConfiguration
    private let logger: Logger
    private var announcer: Task<Void, Never>?
    private var subscribers: [Int: Subscriber] = [:]
    private var nextSubscriber = 0
    private var sequence: UInt64 = 0
    private var listener: PostgresListener?
    private var listenerTask: Task<Void, Never>?
    /// Bumped per listener, so events still queued from a stopped one are ignored.
    private var generation = 0
    private var listening = false
    private var hasListened = false
    /// A subscriber was told it is connected before the connection was up: it may have missed
    /// changes, so the first LISTEN resyncs too.
    private var owesResync = false

    private struct Subscriber {
        let function: String?
        let run: UUID?
        let continuation: AsyncStream<RunEvent>.Continuation

        func wants(_ change: RunChange) -> Bool {
            (function == nil || function == change.function) && (run == nil || run == change.id)
        }
    }

    /// A hub for `database`: it LISTENs on a connection of its own made with the pool's
    /// configuration (application name `nightshift-stream`) and announces itself through the pool.
    public init(
        database: PostgresPool, pingInterval: Duration = .seconds(15), bufferSize: Int = 256,
        logger: Logger = Logger(label: "nightshift.stream")
    ) {
        self.database = database
        var configuration = database.configuration
        configuration.applicationName = "nightshift-stream"
        self.configuration = configuration
        self.pingInterval = pingInterval
        self.bufferSize = max(1, bufferSize)
        self.logger = logger
    }

    /// The changes from now on, of one function and/or one run when given (both: AND). The
    /// stream ends when the subscriber falls `bufferSize` behind, or at ``shutdown()``;
    /// dropping or cancelling its iteration unsubscribes.
    public func subscribe(function: String? = nil, run: UUID? = nil) -> AsyncStream<RunEvent> {
        let (stream, continuation) = AsyncStream<RunEvent>.makeStream(bufferingPolicy: .bufferingOldest(bufferSize))
        let id = nextSubscriber
        nextSubscriber += 1
        subscribers[id] = Subscriber(function: function, run: run, continuation: continuation)
        continuation.onTermination = { [weak self] _ in
            Task { await self?.remove(id) }
        }
        startListening()
        return stream
    }

    /// How many subscribers are attached.
    public var subscriberCount: Int { subscribers.count }

    /// A resync numbered as the hub's latest event: for a client that comes back (its
    /// `Last-Event-ID`) and may have missed any change meanwhile, since the hub keeps no history.
    public var resyncNow: RunEvent { .resync(sequence: sequence) }

    /// Whether the LISTEN connection is up.
    public var isListening: Bool { listening }

    /// Waits until the LISTEN connection is up (changes from then on are heard), at most
    /// `timeout`; returns whether it is.
    public func waitUntilListening(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !listening, listener != nil, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if !listening { owesResync = true }
        return listening
    }

    /// Finishes every subscriber's stream and closes the connection.
    public func shutdown() {
        let all = subscribers.values
        subscribers = [:]
        for subscriber in all { subscriber.continuation.finish() }
        stopListening()
    }

    private func remove(_ id: Int) {
        guard subscribers.removeValue(forKey: id) != nil else { return }
        if subscribers.isEmpty { stopListening() }
    }

    private func startListening() {
        guard listener == nil else { return }
        generation += 1
        let generation = generation
        let logger = logger
        let listener = PostgresListener(
            configuration: configuration, channels: [Self.channel],
            onConnectionError: { error in
                logger.warning("run events: listener connection failed; reconnecting", metadata: ["error": "\(error)"])
            })
        self.listener = listener
        hasListened = false
        listenerTask = Task { [weak self] in
            for await event in listener {
                guard let self else { return }
                await self.handle(event, generation: generation)
            }
        }
        announcer = Task { [weak self] in
            while (try? await Task.sleep(for: Self.announceEvery)) != nil {
                guard let self else { return }
                await self.announce()
            }
        }
    }

    /// Tells the triggers a server listens (for `announceSeconds`); a failure is logged, and the
    /// next renewal or reconnect tries again.
    private func announce() async {
        do {
            // As the service role, the way every request of the API pool's login runs (it
            // inherits no privileges of its own).
            let seconds = Self.announceSeconds
            _ = try await database.withTransaction { connection in
                _ = try connection.query("select set_config('role', 'nightshift_service', true)")
                return try connection.query("select nightshift.run_events_listen(\(seconds)::integer)").count
            }
        } catch {
            logger.warning("run events: could not announce the listener", metadata: ["error": "\(error)"])
        }
    }

    private func stopListening() {
        listener?.stop()
        listenerTask?.cancel()
        announcer?.cancel()
        listener = nil
        listenerTask = nil
        announcer = nil
        listening = false
    }

    private func handle(_ event: PostgresListenerEvent, generation: Int) async {
        guard generation == self.generation, listener != nil else { return }
        switch event {
        case .listening:
            // Announced before anyone is told the stream is live: a change committed after
            // this is notified (one whose statement ran just before may not be: clients fetch
            // the state they show after `: connected`).
            await announce()
            guard generation == self.generation, listener != nil else { return }
            listening = true
            // The first LISTEN of this connection's life starts the stream; a later one
            // follows a lost connection, whose notifications are gone.
            if hasListened || owesResync { broadcastResync() }
            hasListened = true
            owesResync = false
        case .notification(let notification):
            guard let changes = Self.changes(notification.payload) else {
                broadcastResync()
                return
            }
            for change in changes { broadcast(change) }
        }
    }

    private func broadcast(_ change: RunChange) {
        sequence += 1
        let event = RunEvent.run(change, sequence: sequence)
        for (id, subscriber) in subscribers where subscriber.wants(change) {
            deliver(event, to: id, subscriber)
        }
    }

    private func broadcastResync() {
        sequence += 1
        let event = RunEvent.resync(sequence: sequence)
        for (id, subscriber) in subscribers { deliver(event, to: id, subscriber) }
    }

    private func deliver(_ event: RunEvent, to id: Int, _ subscriber: Subscriber) {
        switch subscriber.continuation.yield(event) {
        case .enqueued:
            break
        case .dropped:
            // Too far behind: its stream ends (the client reconnects and refetches) rather
            // than the hub holding ever more for it.
            logger.notice("run events: a subscriber fell \(bufferSize) events behind and was dropped")
            subscribers[id] = nil
            subscriber.continuation.finish()
            if subscribers.isEmpty { stopListening() }
        case .terminated:
            subscribers[id] = nil
            if subscribers.isEmpty { stopListening() }
        @unknown default:
            break
        }
    }

    /// The changes a `nightshift_run_events` payload lists, or nil for the compact
    /// `{"at", "n"}` form (too many runs in one statement) or anything unreadable: a resync.
    public static func changes(_ payload: String) -> [RunChange]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any],
              let at = object["at"] as? String, let groups = object["g"] as? [[Any]] else { return nil }
        var changes: [RunChange] = []
        for group in groups {
            guard group.count == 4, let function = group[0] as? String, let status = group[1] as? String,
                  let ids = group[3] as? [String] else { return nil }
            let step = group[2] as? String
            for text in ids {
                guard let id = UUID(uuidString: text) else { return nil }
                changes.append(RunChange(id: id, function: function, status: status, step: step, at: at))
            }
        }
        return changes
    }
}
