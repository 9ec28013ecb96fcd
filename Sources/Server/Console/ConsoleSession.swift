import Config
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The console's signed session cookie (issue 14 §1): what a sign-in with the service-role key
/// or a super admin's or operator's JWT is exchanged for, so the browser never holds the token.
///
/// The cookie `nightshift_console` is `<payload>.<mac>`, both base64url: the payload is JSON
/// (`v`, a random session id `sid`, `exp` in Unix seconds, and the verified token's claims as
/// signed), the MAC is HMAC-SHA256 over the payload's base64url text with a key derived from the
/// server's `[auth]` secret material (HMAC of a fixed label, so the key signs nothing else). It is
/// HttpOnly, SameSite=Strict, Path=/ (the live stream under /api/v1 reads it too), Secure when the
/// request came over TLS or `NIGHTSHIFT_CONSOLE_SECURE_COOKIE=1`, and expires with the token or
/// after ``lifetime``, whichever is first. Each form carries a CSRF token: HMAC of the session id
/// under a second derived key, checked on every POST.
public struct ConsoleSessions: Sendable {
    /// The cookie's name.
    public static let cookieName = "nightshift_console"
    /// The pre-sign-in cookie whose value the sign-in form's CSRF token is bound to.
    static let signInCookieName = "nightshift_console_sign_in"
    /// The longest a session lives (a token that expires sooner ends it sooner).
    public static let lifetime: TimeInterval = 8 * 3600

    private let sessionKey: SymmetricKey
    private let csrfKey: SymmetricKey
    /// Whether every cookie is marked Secure whatever the request (behind a TLS-terminating proxy).
    let alwaysSecure: Bool

    /// Keys derived from `[auth]`: the project secret, or with a JWKS the service-role key
    /// (server-side secret material either way; never a constant in the code).
    public init(auth: AuthSettings, alwaysSecure: Bool = ProcessInfo.processInfo.environment["NIGHTSHIFT_CONSOLE_SECURE_COOKIE"] == "1") {
        let material = auth.jwtSecret.isEmpty ? auth.serviceRoleKey : auth.jwtSecret
        let root = SymmetricKey(data: Data(material.utf8))
        func derive(_ label: String) -> SymmetricKey {
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(label.utf8), using: root)))
        }
        self.sessionKey = derive("nightshift console session v1")
        self.csrfKey = derive("nightshift console csrf v1")
        self.alwaysSecure = alwaysSecure
    }

    /// A signed-in console user: who, until when, and the form token.
    public struct Session: Sendable {
        /// The random session id the CSRF token is bound to.
        public let id: String
        /// When the cookie stops being accepted.
        public let expiresAt: Date
        /// The caller the console's SQL runs as (through ``RequestDatabase``).
        public let principal: Principal

        /// Whether the caller may act (service role or super admin); operators only read.
        public var mayAct: Bool { principal.role == .serviceRole || principal.isSuperAdmin }
        /// Whether the caller may read the console at all.
        public var mayRead: Bool { mayAct || Self.isOperator(principal) }

        static func isOperator(_ principal: Principal) -> Bool {
            principal.role == .authenticated && !(principal.subject ?? "").isEmpty && principal.appRole == "operator"
        }
    }

    private struct Payload: Codable {
        var v: Int
        var sid: String
        var exp: Int64
        var claims: String
        var role: String
        var sub: String?
        var app: String?
    }

    /// The principal of a request's valid, unexpired console cookie, or nil. For routes outside
    /// the console that accept it (the live stream): a GET that reads, never a change (a cookie
    /// rides along with requests a page did not mean to make; changes need the CSRF token).
    public func principal(from request: Request, now: Date = Date()) -> Principal? {
        session(from: request, now: now)?.principal
    }

    /// The caller of a GET that reads the engine, for routes that serve both the console and
    /// token clients (the live stream): the request's token when it carries one (a bad token is
    /// still a 401, never a fall-back to the cookie), else the console's session cookie; 401
    /// with neither. Use it as `authenticator.require([.serviceRole, .authenticated], for:)` is
    /// used; the SQL still decides what the caller may read.
    public func reader(for request: Request, authenticator: Authenticator, now: Date = Date()) async throws(APIError) -> Principal {
        if let principal = try await authenticator.principal(for: request) {
            guard principal.role == .serviceRole || principal.role == .authenticated else {
                throw .forbidden("this endpoint requires role authenticated, service_role")
            }
            return principal
        }
        if let principal = principal(from: request, now: now) { return principal }
        throw .unauthorized("missing token: send \"Authorization: Bearer <jwt>\" or an apikey header, or sign in to the console")
    }

    /// The request's session, if its cookie verifies and has not expired.
    public func session(from request: Request, now: Date = Date()) -> Session? {
        guard let value = request.cookies[Self.cookieName]?.value else { return nil }
        return session(fromCookie: value, now: now)
    }

    func session(fromCookie value: String, now: Date = Date()) -> Session? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let mac = Base64URL.decode(parts[1]) else { return nil }
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(parts[0].utf8), using: sessionKey) else { return nil }
        guard let json = Base64URL.decode(parts[0]), let payload = try? JSONDecoder().decode(Payload.self, from: json),
              payload.v == 1, let role = Principal.Role(rawValue: payload.role) else { return nil }
        let expiresAt = Date(timeIntervalSince1970: TimeInterval(payload.exp))
        guard expiresAt > now else { return nil }
        let principal = Principal(role: role, subject: payload.sub, appRole: payload.app, claimsJSON: payload.claims)
        let session = Session(id: payload.sid, expiresAt: expiresAt, principal: principal)
        return session.mayRead ? session : nil
    }

    /// A new session for a verified principal: the cookie value and the session.
    func issue(for principal: Principal, now: Date = Date()) -> (cookie: String, session: Session) {
        var expiry = now.addingTimeInterval(Self.lifetime)
        if let claims = try? JSONDecoder().decode(ExpiryClaim.self, from: Data(principal.claimsJSON.utf8)), let exp = claims.exp {
            expiry = min(expiry, Date(timeIntervalSince1970: exp))
        }
        let id = Self.randomToken()
        let payload = Payload(
            v: 1, sid: id, exp: Int64(expiry.timeIntervalSince1970), claims: principal.claimsJSON, role: principal.role.rawValue,
            sub: principal.subject, app: principal.appRole)
        // Codable of strings and integers always encodes.
        let text = Base64URL.encode(try! JSONEncoder().encode(payload))
        let mac = Base64URL.encode(Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: sessionKey)))
        return ("\(text).\(mac)", Session(id: id, expiresAt: Date(timeIntervalSince1970: TimeInterval(payload.exp)), principal: principal))
    }

    private struct ExpiryClaim: Decodable {
        var exp: Double?
    }

    /// The form token of a session (or of a sign-in cookie's value): HMAC of the id.
    func csrfToken(for id: String) -> String {
        Base64URL.encode(Data(HMAC<SHA256>.authenticationCode(for: Data("csrf:\(id)".utf8), using: csrfKey)))
    }

    /// Whether `token` is the form token of `id` (compared in constant time by the MAC check).
    func checkCSRF(_ token: String?, for id: String) -> Bool {
        guard let token, let mac = Base64URL.decode(Substring(token)) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data("csrf:\(id)".utf8), using: csrfKey)
    }

    /// The session cookie, Secure when the request came over TLS (or the flag says always).
    func cookie(_ value: String, expiresAt: Date?, request: Request) -> Cookie {
        let maxAge = expiresAt.map { max(0, Int($0.timeIntervalSinceNow)) } ?? 0
        return Cookie(
            name: Self.cookieName, value: value, maxAge: maxAge, path: "/", secure: isSecure(request), httpOnly: true,
            sameSite: .strict)
    }

    /// The short-lived cookie the sign-in form's token is bound to (login CSRF).
    func signInCookie(_ value: String, request: Request) -> Cookie {
        Cookie(name: Self.signInCookieName, value: value, maxAge: 1800, path: "/console", secure: isSecure(request), httpOnly: true,
               sameSite: .strict)
    }

    /// TLS: the URI's scheme when the server terminates it, or the proxy's `X-Forwarded-Proto`
    /// (which can only make the cookie stricter, so trusting it is harmless).
    func isSecure(_ request: Request) -> Bool {
        alwaysSecure || request.head.scheme == "https" || request.headers[HTTPField.Name("X-Forwarded-Proto")!] == "https"
    }

    /// 24 random bytes, base64url (SystemRandomNumberGenerator: getrandom on Linux).
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode(Data((0..<24).map { _ in UInt8.random(in: .min ... .max, using: &generator) }))
    }
}

/// base64url without padding (RFC 4648 §5), as cookies and JWTs write it.
enum Base64URL {
    static func encode(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: Substring) -> Data? {
        guard text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), text.allSatisfy(\.isASCII) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
