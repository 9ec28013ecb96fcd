import Foundation
import JWTKit

/// The keys tokens may be signed with, and the single algorithm each one accepts: HS256 for
/// the project secret, ES256 or RS256 for each key of a JWKS, chosen by the token's `kid`.
struct SigningKeys: Sendable {
    enum Kind: Sendable {
        /// HS256 with the project secret.
        case secret
        /// Public keys by `kid`, each with its algorithm.
        case jwks([String: String])
    }

    let kind: Kind
    let collection: JWTKeyCollection

    /// The algorithms a JWKS key may use: what Supabase's asymmetric signing keys are.
    static let asymmetricAlgorithms: Set<String> = ["ES256", "RS256"]

    static func secret(_ secret: String) async -> SigningKeys {
        let collection = JWTKeyCollection()
        await collection.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        return SigningKeys(kind: .secret, collection: collection)
    }

    /// The keys of a JWKS document; a key without `kid`, of another algorithm, with private
    /// material, or whose numbers make no key is refused, naming it.
    static func jwks(_ json: String) async throws(JWKSError) -> SigningKeys {
        guard let document = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let entries = document["keys"] as? [[String: Any]], !entries.isEmpty else {
            throw JWKSError("must be a JSON object with a non-empty \"keys\" array")
        }
        let collection = JWTKeyCollection()
        var algorithms: [String: String] = [:]
        for (index, entry) in entries.enumerated() {
            guard let kid = entry["kid"] as? String, !kid.isEmpty else {
                throw JWKSError("key \(index + 1) has no \"kid\": tokens choose their key by kid")
            }
            guard algorithms[kid] == nil else { throw JWKSError("two keys share kid \"\(kid)\"") }
            var jwk: JWK
            do {
                jwk = try JWK(json: String(decoding: try JSONSerialization.data(withJSONObject: entry), as: UTF8.self))
            } catch {
                throw JWKSError("key \"\(kid)\" is not a JWK jwt-kit can read (kty EC or RSA, alg ES256 or RS256): \(error)")
            }
            let algorithm = try Self.algorithm(of: jwk, kid: kid)
            guard jwk.privateExponent == nil else {
                throw JWKSError("key \"\(kid)\" holds private key material: give the server public keys only")
            }
            // Pinning the algorithm makes jwt-kit build the key now (so bad numbers fail here)
            // and never derive another algorithm from a token's header.
            jwk.algorithm = JWK.Algorithm(rawValue: algorithm)
            do {
                try await collection.add(jwk: jwk)
            } catch {
                throw JWKSError("key \"\(kid)\" does not make a usable \(algorithm) public key: \(error)")
            }
            algorithms[kid] = algorithm
        }
        return SigningKeys(kind: .jwks(algorithms), collection: collection)
    }

    /// ES256 for a P-256 EC key, RS256 for an RSA key; a stated `alg` must be one of those and
    /// fit the key type.
    private static func algorithm(of jwk: JWK, kid: String) throws(JWKSError) -> String {
        let inferred: String?
        switch jwk.keyType {
        case .ecdsa: inferred = (jwk.curve == nil || jwk.curve?.rawValue == "P-256") ? "ES256" : nil
        case .rsa: inferred = "RS256"
        default: inferred = nil
        }
        let stated = jwk.algorithm?.rawValue
        guard let algorithm = stated ?? inferred, asymmetricAlgorithms.contains(algorithm) else {
            throw JWKSError("key \"\(kid)\" uses \(stated ?? "an unsupported key type"); Nightshift accepts ES256 (EC P-256) and RS256 (RSA) keys")
        }
        guard algorithm == inferred else {
            throw JWKSError("key \"\(kid)\" says alg \(algorithm) but its kty is \(jwk.keyType.rawValue)\(jwk.curve.map { " on \($0.rawValue)" } ?? "")")
        }
        return algorithm
    }

    /// Refuses a token whose header names an algorithm or key this deployment does not use,
    /// before any signature is checked.
    func check(_ header: CompactJWT.Header) throws(APIError) {
        guard let alg = header.alg else { throw .unauthorized("token header has no alg") }
        switch kind {
        case .secret:
            guard alg == "HS256" else {
                throw .unauthorized("token algorithm \"\(alg)\" is not accepted: this server verifies HS256 tokens signed with auth.jwt_secret")
            }
        case .jwks(let algorithms):
            guard let kid = header.kid else {
                throw .unauthorized("token header has no kid: with auth.jwks_path every token must name its signing key")
            }
            guard let expected = algorithms[kid] else {
                throw .unauthorized("token kid \"\(kid.prefix(64))\" is not a key of the configured JWKS")
            }
            guard alg == expected else {
                throw .unauthorized("token algorithm \"\(alg)\" is not accepted: key \"\(kid)\" verifies \(expected) tokens")
            }
        }
    }

    /// What verifies tokens, for messages.
    var name: String {
        switch kind {
        case .secret: "auth.jwt_secret"
        case .jwks: "auth.jwks_path"
        }
    }
}

/// A JWKS document the verifier cannot use; start-up turns it into a `ConfigError` on `auth.jwks_path`.
public struct JWKSError: Error, CustomStringConvertible, Equatable {
    /// What is wrong with the document (no keys, a key without `kid`, an unsupported algorithm, …).
    public let message: String

    init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
