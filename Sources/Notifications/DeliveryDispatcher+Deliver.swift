import Config
import Foundation
import HTTPClient
import Logging
import Postgres

extension DeliveryDispatcher {
    /// Sends one claimed delivery and records its outcome: a success through `recorder` (with
    /// others), a failure in the database at once.
    func deliver(_ delivery: ClaimedDelivery, using http: HTTPClient, recorder: SuccessRecorder) async {
        var logger = logger
        logger[metadataKey: "delivery_id"] = "\(delivery.id)"
        logger[metadataKey: "channel"] = "\(delivery.channel)"
        logger[metadataKey: "attempt"] = "\(delivery.attempt)"
        let clock = ContinuousClock()
        let started = clock.now

        let result: Result<Int, DeliveryFailure>
        if let channel = channels[delivery.channel] {
            result = await post(delivery, to: channel, using: http, logger: logger)
        } else {
            result = .failure(.unconfigured(channel: delivery.channel))
        }

        do {
            switch result {
            case .success(let status):
                recorder.record(.init(id: delivery.id, status: status, channel: delivery.channel, duration: clock.now - started))
                logger.debug("delivered", metadata: ["http_status": "\(status)"])
            case .failure(let failure):
                let status = try await database.query("""
                    select notify.fail_delivery(\(delivery.id), \(failure.message), \(failure.statusCode)::integer,
                                                \(failure.retriable), \(delivery.attempt)::integer)
                    """)[0].decode(String.self, at: 0)
                let outcome = status == "pending" ? "retrying" : status
                metrics.attemptFinished(channel: delivery.channel, outcome: outcome, duration: clock.now - started)
                logger.log(
                    level: status == "failed" ? .error : .warning, "delivery attempt failed",
                    metadata: ["error": "\(failure.message)", "http_status": "\(failure.statusCode.map(String.init) ?? "none")",
                               "retriable": "\(failure.retriable)", "delivery_status": "\(status)"])
            }
        } catch {
            // The outcome is lost, not the delivery: its lease expires and it is sent again
            // (the receiver drops the repeat by its Idempotency-Key).
            logger.error("recording the delivery outcome failed", metadata: ["error": "\(error)"])
        }
    }

    /// POSTs the payload, signed when the channel has a secret; the status code on 2xx, the
    /// failure otherwise.
    private func post(
        _ delivery: ClaimedDelivery, to channel: ChannelSettings, using http: HTTPClient, logger: Logger
    ) async -> Result<Int, DeliveryFailure> {
        var request = HTTPRequest(
            method: .post, url: channel.webhookURL,
            headers: ["Content-Type": "application/json", "Idempotency-Key": delivery.idempotencyKey],
            body: delivery.payload)
        // Id and timestamp go out even unsigned: receivers dedupe on the id either way. The
        // timestamp is this attempt's, not the notification's, so a retry is not "stale".
        let id = delivery.webhookID
        let timestamp = Int64(Date().timeIntervalSince1970)
        request.headers.add("webhook-id", id)
        request.headers.add("webhook-timestamp", String(timestamp))
        if let secret = channel.webhookSecret {
            request.headers.add("webhook-signature", WebhookSigner(secret: secret).signature(id: id, timestamp: timestamp, body: delivery.payload))
        }
        request.timeout = options.requestTimeout
        request.connectTimeout = options.connectTimeout
        request.maxResponseBytes = options.maxResponseBytes
        do {
            let response = try await http.execute(request)
            return (200..<300).contains(response.status) ? .success(response.status) : .failure(.unexpected(status: response.status))
        } catch let error as HTTPClientError {
            if error.kind == .responseTooLarge, let status = error.status, (200..<300).contains(status) {
                // The receiver took the delivery (2xx); only its answer, which nothing reads, ran long.
                logger.debug("delivered; the response body over the cap was discarded", metadata: ["http_status": "\(status)"])
                return .success(status)
            }
            return .failure(DeliveryFailure(error))
        } catch {
            // CancellationError: this process is being torn down mid-request.
            return .failure(DeliveryFailure(message: "the request was cancelled: \(error)", retriable: true))
        }
    }
}
