import Config
import HTTPClient
import Logging
import Postgres
import ServiceLifecycle
import Synchronization

/// Drains the notification outbox: claims due deliveries with `notify.claim_deliveries`
/// (SKIP LOCKED, under a lease), POSTs each payload to its channel's webhook with an
/// `Idempotency-Key` header and Standard Webhooks signature headers, and records the outcome
/// (successes many at a time with `complete_deliveries`; a failure with `fail_delivery`, which
/// retries with backoff). Up to `maxInFlight` webhooks are out at once: the next claim goes out
/// as soon as there is room for one, so a slow receiver holds a place, never the whole batch.
/// Woken by LISTEN/NOTIFY on `nightshift_deliveries`, with a slow poll as the fallback; at least
/// once, like the worker.
public final class DeliveryDispatcher: Service, Sendable {
    let database: PostgresPool
    /// Channel name -> webhook URL and signing secret, from config: the database never holds either.
    let channels: [String: ChannelSettings]
    let options: DispatcherOptions
    let logger: Logger
    let metrics = NotificationMetrics()
    private let wake = WakeSignal()
    /// Set on graceful shutdown: no claim after it, the sends out are finished.
    private let stopping = Mutex(false)

    /// A dispatcher for the channels of `settings`; nothing runs until `run()`.
    public init(database: PostgresPool, settings: NotificationSettings, options: DispatcherOptions = DispatcherOptions(), logger: Logger) {
        self.database = database
        self.channels = settings.channels
        self.options = options
        var logger = logger
        logger[metadataKey: "service"] = "notify-dispatcher"
        self.logger = logger
    }

    /// Runs until graceful shutdown (or cancellation). A batch in flight is finished first:
    /// each request is bounded by the request timeout, so the drain is too.
    public func run() async throws {
        let http = HTTPClient()
        let recorder = SuccessRecorder(database: database, logger: logger, metrics: metrics)
        async let recording: Void = recorder.run()
        let listener = PostgresListener(
            configuration: database.configuration, channels: ["nightshift_deliveries"],
            onConnectionError: { [logger] error in logger.warning("listener connection lost", metadata: ["error": "\(error)"]) })
        logger.info("dispatcher started", metadata: ["channels": "\(channels.keys.sorted())"])
        warnAboutUnsignedChannels()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.listen(listener) }
                group.addTask { await self.poll() }
                await self.dispatchLoop(http, recorder)
                // The loop ends only on shutdown, after its sends; the helpers follow it.
                listener.stop()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.stopping.withLock { $0 = true }
            self.wake.finish()
        }
        // Every send has ended: the last successes are written before the dispatcher stops.
        recorder.finish()
        await recording
        await http.shutdown()
        logger.info("dispatcher stopped")
    }

    /// Config accepts an unsigned channel only on loopback (development); say so once per start,
    /// so one left unsigned on the way to production is seen.
    private func warnAboutUnsignedChannels() {
        for (name, channel) in channels.sorted(by: { $0.key < $1.key }) where channel.webhookSecret == nil {
            logger.warning(
                "webhooks of this channel are not signed: receivers cannot tell them from forgeries",
                metadata: [
                    "channel": "\(name)",
                    "fix": "set [notifications.channels.\(name)] webhook_secret or \(NightshiftConfig.webhookSecretVariable(channel: name))",
                ])
        }
    }

    private func listen(_ listener: PostgresListener) async {
        for await event in listener {
            switch event {
            case .listening:
                wake.signal()  // notifications may have been missed while disconnected
            case .notification:
                wake.signal()
            }
        }
    }

    private func poll() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: options.pollInterval)
            wake.signal()
        }
    }

    /// Claims while deliveries are due and there is room in the window; each send runs on its
    /// own and makes room when it ends. Returns on shutdown once every send has ended.
    private func dispatchLoop(_ http: HTTPClient, _ recorder: SuccessRecorder) async {
        let window = DeliveryWindow(limit: options.maxInFlight)
        var releases = window.releases.makeAsyncIterator()
        await withDiscardingTaskGroup { sends in
            for await _ in wake.stream {
                // Claim until a short claim says nothing more is due now.
                while !Task.isCancelled {
                    // Claims of a useful size: wait for room for a whole one (or for the window
                    // to empty, when the window is smaller than a claim).
                    let wanted = min(options.batchSize, window.limit)
                    while window.room < wanted {
                        _ = await releases.next()
                    }
                    if stopping.withLock({ $0 }) { break }
                    let limit = min(options.batchSize, window.room)
                    let claimed: [ClaimedDelivery]
                    do {
                        claimed = try await claim(limit)
                    } catch {
                        if Task.isCancelled { break }  // shutting down: not a failure
                        logger.error("claiming deliveries failed", metadata: ["error": "\(error)"])
                        try? await Task.sleep(for: .milliseconds(200))
                        break
                    }
                    window.take(claimed.count)
                    for delivery in claimed {
                        sends.addTask {
                            await self.deliver(delivery, using: http, recorder: recorder)
                            window.release()
                        }
                    }
                    if claimed.count < limit { break }
                }
            }
        }
    }

    private func claim(_ limit: Int) async throws -> [ClaimedDelivery] {
        try await database.query("""
            select id, notification_id, channel, idempotency_key, attempt, payload::text as payload
            from notify.claim_deliveries(\(limit)::integer, \(options.leaseInterval)::interval)
            """).map(ClaimedDelivery.init(row:))
    }
}
