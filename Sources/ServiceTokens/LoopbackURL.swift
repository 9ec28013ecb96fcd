import Foundation

/// Whether a URL's host is this machine's loopback interface, judged from the text alone (no
/// DNS lookup, which an attacker's resolver could answer): `localhost`, 127.0.0.0/8 or `::1`.
public enum LoopbackURL {
    /// True when `url` parses and its host is `localhost`, an IPv4 address in 127.0.0.0/8 or `::1`;
    /// false for anything else, unparsable text included, so a doubtful URL is treated as remote.
    public static func isLoopback(_ url: String) -> Bool {
        guard let host = URLComponents(string: url)?.host?.lowercased() else { return false }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare == "::1" || bare == "0:0:0:0:0:0:0:1" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
