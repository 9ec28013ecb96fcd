import Foundation

/// A channel's Standard Webhooks signing secret: `whsec_` and the base64 of 24 to 64 random
/// bytes (the spec's 192 to 512 bits). Holds the decoded HMAC key; prints as redacted, so a
/// config dumped into a log or an error never carries it.
public struct WebhookSecret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What every secret starts with, so a secret is recognisable wherever it is pasted.
    public static let prefix = "whsec_"
    /// Key lengths the spec allows, in bytes.
    public static let keyLengths = 24...64

    /// The HMAC-SHA256 key: the base64-decoded part after `whsec_`.
    public let key: [UInt8]

    /// Why a text is not a secret; `problem` never repeats the text (it is a secret, or nearly).
    public struct Malformed: Error, Sendable {
        /// What is wrong (no `whsec_` prefix, not base64, too short or long), with how to make a good one.
        public let problem: String
    }

    /// Parses `whsec_<base64>`. Padding may be left off, as the spec's reference libraries
    /// accept; the URL-safe alphabet, spaces and anything else that is not base64 are refused.
    public init(parsing text: String) throws(Malformed) {
        let hint = "generate one with: echo \"whsec_$(openssl rand -base64 32)\""
        guard text.hasPrefix(Self.prefix) else {
            throw Malformed(problem: "must start with \(Self.prefix) followed by base64 (\(hint))")
        }
        var encoded = String(text.dropFirst(Self.prefix.count))
        switch encoded.utf8.count % 4 {
        case 2: encoded += "=="
        case 3: encoded += "="
        default: break
        }
        guard let data = Data(base64Encoded: encoded) else {
            throw Malformed(problem: "is not valid base64 after \(Self.prefix) (\(hint))")
        }
        guard Self.keyLengths.contains(data.count) else {
            throw Malformed(problem: """
                decodes to \(data.count) bytes; a secret is \(Self.keyLengths.lowerBound) to \(Self.keyLengths.upperBound) \
                random bytes (\(hint))
                """)
        }
        key = Array(data)
    }

    public var description: String { "\(Self.prefix)<redacted>" }
    public var debugDescription: String { description }
}
