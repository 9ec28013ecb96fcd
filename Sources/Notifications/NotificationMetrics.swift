import Metrics

/// The notification instruments (swift-metrics): exported at `GET /metrics` when a Prometheus
/// factory is bootstrapped, free no-ops otherwise. Same pattern as the engine's `EngineMetrics`.
struct NotificationMetrics: Sendable {
    /// One `notify.send` call, by outcome (sent, duplicate, suppressed).
    func sent(outcome: String) {
        Counter(label: "nightshift_notifications_total", dimensions: [("outcome", outcome)]).increment()
    }

    /// One delivery attempt ended: delivered, retrying or failed.
    func attemptFinished(channel: String, outcome: String, duration: Duration) {
        Counter(label: "nightshift_notification_deliveries_total", dimensions: [("channel", channel), ("outcome", outcome)])
            .increment()
        Timer(label: "nightshift_notification_delivery_duration_seconds", dimensions: [("channel", channel)],
              preferredDisplayUnit: .seconds)
            .recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
