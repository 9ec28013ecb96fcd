import Config
import HTTPClient
import Logging
import Postgres
import ServiceLifecycle

/// Drains the notification outbox: claims due deliveries with `notify.claim_deliveries`
/// (SKIP LOCKED, under a lease), POSTs each payload to its channel's webhook with an
/// `Idempotency-Key` header and Standard Webhooks signature headers, and records the outcome (`complete_delivery`, or
/// `fail_delivery`, which retries with backoff). Woken by LISTEN/NOTIFY on
/// `nightshift_deliveries`, with a slow poll as the fallback; at least once, like the worker.
public final class DeliveryDispatcher: Service, Sendable {
    let database: PostgresPool
    /// Channel name -> webhook URL and signing secret, from config: the database never holds either.
    let channels: [String: ChannelSettings]
    let options: DispatcherOptions
    let logger: Logger
    let metrics = NotificationMetrics()
    private let wake = WakeSignal()

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
        let listener = PostgresListener(
            configuration: database.configuration, channels: ["nightshift_deliveries"],
            onConnectionError: { [logger] error in logger.warning("listener connection lost", metadata: ["error": "\(error)"]) })
        logger.info("dispatcher started", metadata: ["channels": "\(channels.keys.sorted())"])
        warnAboutUnsignedChannels()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.listen(listener) }
                group.addTask { await self.poll() }
                await self.dispatchLoop(http)
                // The loop ends only on shutdown; the helpers follow it.
                listener.stop()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.wake.finish()
        }
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

    private func dispatchLoop(_ http: HTTPClient) async {
        for await _ in wake.stream {
            while !Task.isCancelled {
                let claimed: [ClaimedDelivery]
                do {
                    claimed = try await claim()
                } catch {
                    if Task.isCancelled { break }  // shutting down: not a failure
                    logger.error("claiming deliveries failed", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .milliseconds(200))
                    break
                }
                // One batch at a time, its requests concurrently: the batch size bounds the
                // connections to receivers and the rows this process holds leases on.
                await withTaskGroup(of: Void.self) { batch in
                    for delivery in claimed {
                        batch.addTask { await self.deliver(delivery, using: http) }
                    }
                }
                if claimed.count < options.batchSize { break }
            }
        }
    }

    private func claim() async throws -> [ClaimedDelivery] {
        try await database.query("""
            select id, notification_id, channel, idempotency_key, attempt, payload::text as payload
            from notify.claim_deliveries(\(options.batchSize)::integer, \(options.leaseInterval)::interval)
            """).map(ClaimedDelivery.init(row:))
    }
}
