import Foundation

/// A compact JWT taken apart before any key sees it: the JOSE header decides which key and
/// algorithm may verify the token, so it is read here rather than trusted to the key collection
/// (which falls back to its default key for an unknown `kid` and lets an HMAC key verify a token
/// whatever its header's `alg` says).
struct CompactJWT {
    /// The JOSE header fields Nightshift acts on.
    struct Header: Decodable {
        let alg: String?
        let kid: String?
    }

    let header: Header
    /// The payload segment, base64url-decoded: the claims exactly as signed.
    let payloadJSON: String

    init(_ token: String) throws(APIError) {
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3 else {
            throw .unauthorized("token is not a JWT: expected three dot-separated segments, got \(segments.count)")
        }
        guard let headerBytes = Self.base64URLDecode(segments[0]),
              let header = try? JSONDecoder().decode(Header.self, from: headerBytes) else {
            throw .unauthorized("token header is not base64url-encoded JSON")
        }
        guard let payloadBytes = Self.base64URLDecode(segments[1]),
              let payload = String(data: payloadBytes, encoding: .utf8) else {
            throw .unauthorized("token payload is not base64url-encoded UTF-8")
        }
        self.header = header
        self.payloadJSON = payload
    }

    /// RFC 7515's base64url without padding, onto Foundation's base64 decoder.
    static func base64URLDecode(_ text: Substring) -> Data? {
        guard !text.contains(where: { $0 == "+" || $0 == "/" || $0 == "=" }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
