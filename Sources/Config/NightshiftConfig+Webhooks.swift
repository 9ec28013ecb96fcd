import Foundation

extension NightshiftConfig {
    /// The environment variable that sets a channel's `webhook_secret`: `NIGHTSHIFT_WEBHOOK_SECRET_`
    /// and the channel name upper-cased, every character but A-Z and 0-9 turned into `_`
    /// (`billing-eu` → `NIGHTSHIFT_WEBHOOK_SECRET_BILLING_EU`), since shells name variables so.
    public static func webhookSecretVariable(channel: String) -> String {
        let name = String(channel.uppercased().unicodeScalars.map { scalar -> Character in
            switch scalar.value {
            case 0x41...0x5A, 0x30...0x39: Character(scalar)  // A-Z, 0-9
            default: "_"
            }
        })
        return "NIGHTSHIFT_WEBHOOK_SECRET_\(name)"
    }

    /// Sets each configured channel's secret from its variable, over the file's. A variable
    /// can only name a channel the file declares (the URL lives there); two channels whose
    /// names map to the same set variable are refused rather than both given one secret.
    mutating func applyWebhookSecrets(_ reader: ConfigEnvironment) throws {
        let byVariable = Dictionary(grouping: notifications.channels.keys.sorted(), by: Self.webhookSecretVariable(channel:))
        for (variable, channels) in byVariable.sorted(by: { $0.key < $1.key }) {
            guard let text = reader.string(variable) else { continue }
            guard channels.count == 1 else {
                throw reader.error(variable, "matches the channels \(channels.joined(separator: " and ")); rename one of them")
            }
            do {
                notifications.channels[channels[0]]?.webhookSecret = try WebhookSecret(parsing: text)
            } catch {
                throw reader.error(variable, error.problem)
            }
        }
    }

    /// Every webhook is an http(s) URL, and signed unless it stays on this machine: an unsigned
    /// request to another host could be forged by anyone who can reach the receiver. Unsigned
    /// loopback channels are for development; the dispatcher warns about them at start-up.
    func validateWebhooks() throws {
        for (name, channel) in notifications.channels.sorted(by: { $0.key < $1.key }) {
            let key = "notifications.channels.\(TOMLSection.quotedKey(name))"
            guard Self.isHTTPURL(channel.webhookURL) else {
                throw ConfigError(key: "\(key).webhook_url", source: source, problem: "must be an http(s) URL, got \"\(channel.webhookURL)\"")
            }
            if channel.webhookSecret == nil && !channel.isLoopback {
                throw ConfigError(key: "\(key).webhook_secret", source: source, problem: """
                    is missing: webhooks to hosts other than loopback must be signed; set it in the file or \
                    \(Self.webhookSecretVariable(channel: name)) (generate one with: echo "whsec_$(openssl rand -base64 32)")
                    """)
            }
        }
    }
}

extension ChannelSettings {
    /// Whether the webhook's host is this machine: `localhost`, 127.0.0.0/8 or `::1`.
    public var isLoopback: Bool {
        guard let host = URL(string: webhookURL)?.host?.lowercased() else { return false }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare == "::1" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
