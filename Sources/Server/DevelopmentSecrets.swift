import Config
import Crypto
import Foundation

/// The public development values committed in `supabase-like-config/config.toml`, known here
/// by their SHA-256 alone: fine on loopback, refused on any address another machine can reach.
enum DevelopmentSecrets {
    private static let fingerprints: Set<String> = [
        "2959fbf11d4d023b01de076d7eb00027be98cb7107295ec82238472b1510cf3f",  // auth.jwt_secret
        "92f19b0a011e57c00e0da86ba316795c7c997f98082fde55d6d4daa00baec351",  // auth.anon_key
        "97af608de1c89929b702526a8e45c42250b4f2475c01f5f6d49c2f0625e70f0c",  // auth.service_role_key
        "a4da04509f0e71e6dd6384d17d0554d837a2962f5fab8d57c68448a4454a41b6",  // notifications.channels.ops.webhook_secret (its key bytes)
    ]

    /// Each setting holding a committed development value, with the environment variable that replaces it.
    static func found(in config: NightshiftConfig) -> [(key: String, variable: String)] {
        var settings: [(String, String, [UInt8])] = [
            ("auth.jwt_secret", "NIGHTSHIFT_JWT_SECRET", Array(config.auth.jwtSecret.utf8)),
            ("auth.anon_key", "NIGHTSHIFT_ANON_KEY", Array(config.auth.anonKey.utf8)),
            ("auth.service_role_key", "NIGHTSHIFT_SERVICE_ROLE_KEY", Array(config.auth.serviceRoleKey.utf8)),
        ]
        for (name, channel) in config.notifications.channels.sorted(by: { $0.key < $1.key }) {
            if let secret = channel.webhookSecret {
                settings.append((
                    "notifications.channels.\(name).webhook_secret", NightshiftConfig.webhookSecretVariable(channel: name), secret.key))
            }
        }
        return settings.filter { isDevelopmentValue($0.2) }.map { ($0.0, $0.1) }
    }

    static func isDevelopmentValue(_ bytes: [UInt8]) -> Bool {
        fingerprints.contains(SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined())
    }

    /// Refuses a config that would serve development secrets beyond loopback, naming each
    /// setting and its environment variable.
    static func check(_ config: NightshiftConfig) throws {
        let found = found(in: config)
        guard !config.api.isLoopback, !found.isEmpty else { return }
        let settings = found.map { "\($0.key) (set \($0.variable))" }.joined(separator: ", ")
        throw ConfigError(
            key: found[0].key, source: config.source,
            problem: "holds the committed development value, and the API listens on \(config.api.host), not loopback: "
                + "replace \(settings); `nightshift keys generate` prints a new secret and keys")
    }
}
