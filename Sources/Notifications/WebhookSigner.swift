import Config
import Crypto
import Foundation

/// Signs webhook requests per Standard Webhooks, symmetric scheme `v1`: HMAC-SHA256, keyed with
/// the channel's `whsec_` secret, over `{webhook-id}.{webhook-timestamp}.{body}`, in base64.
/// Receivers verify with any Standard Webhooks library (README "Notifications").
public struct WebhookSigner: Sendable {
    private let key: SymmetricKey

    /// A signer for one channel's secret.
    public init(secret: WebhookSecret) {
        key = SymmetricKey(data: secret.key)
    }

    /// The `webhook-signature` value, `v1,<base64 HMAC>`, for one attempt. `id` must not contain a
    /// `.`: the spec delimits the signed fields with full stops.
    public func signature(id: String, timestamp: Int64, body: [UInt8]) -> String {
        var hmac = HMAC<SHA256>(key: key)
        hmac.update(data: Array("\(id).\(timestamp).".utf8))
        hmac.update(data: body)
        return "v1," + Data(hmac.finalize()).base64EncodedString()
    }
}
