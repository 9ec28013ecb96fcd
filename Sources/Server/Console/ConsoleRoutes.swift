import Engine
import Foundation
import Hummingbird
import Postgres

/// The operator console (issue 14 §1): server-rendered pages under `/console` over the same
/// `api` SQL functions as the JSON API, run through ``RequestDatabase`` under the signed-in
/// caller's role and claims, so the database decides who reads and who acts. Every change is a
/// POST carrying the session's CSRF token; an operator's is refused here (403) before the SQL
/// would refuse it too.
struct ConsoleRoutes<Context: RequestContext>: Sendable {
    let database: PostgresPool
    let authenticator: Authenticator
    let sessions: ConsoleSessions
    let pages: ConsolePages
    let writes: WriteRateLimiter
    let health: [any ConsoleHealth]
    let maxBodyBytes: Int

    func addRoutes(to router: Router<Context>) {
        router.get("/console/assets/{name}") { _, context in
            guard let name = context.parameters.get("name"), let asset = pages.assets[name] else {
                return ConsolePages.html("not found", status: .notFound)
            }
            var headers = ConsolePages.securityHeaders
            headers[.contentType] = asset.type
            headers[.cacheControl] = "public, max-age=300"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: asset.body)))
        }
        addSignInRoutes(to: router)
        router.get("/console") { request, _ in try await page(request, nav: "overview") { try await overview($0) } }
        router.get("/console/functions") { request, _ in try await page(request, nav: "functions") { try await functions(request, $0) } }
        router.get("/console/runs") { request, _ in try await page(request, nav: "runs") { try await runs(request, $0) } }
        router.get("/console/runs/{id}") { request, context in
            try await page(request, nav: "runs") { try await run(request, try Self.uuid(context, "run"), $0) }
        }
        router.get("/console/schedules") { request, _ in try await page(request, nav: "schedules") { try await schedules($0) } }
        router.get("/console/events") { request, _ in try await page(request, nav: "events") { try await events(request, $0) } }
        router.get("/console/notifications") { request, _ in
            try await page(request, nav: "notifications") { try await notifications(request, $0) }
        }
        addActionRoutes(to: router)
    }

    // MARK: Sign-in

    func addSignInRoutes(to router: Router<Context>) {
        router.get("/console/sign-in") { request, _ in
            let next = Self.safeNext(request.uri.queryParameters["next"].map(String.init))
            return signInPage(request, next: next, error: nil, status: .ok)
        }
        router.post("/console/sign-in") { request, _ in
            let form = try await readForm(request)
            let next = Self.safeNext(form["next"])
            guard let nonce = request.cookies[ConsoleSessions.signInCookieName]?.value,
                  sessions.checkCSRF(form["csrf"], for: "sign-in:\(nonce)") else {
                return signInPage(request, next: next, error: "The form expired or came from elsewhere: sign in again.", status: .forbidden)
            }
            let token = (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            let principal: Principal
            do {
                principal = try await authenticator.principal(forToken: token)
            } catch let error as APIError {
                return signInPage(request, next: next, error: "That key or token does not verify: \(error.message)", status: .unauthorized)
            } catch {
                return signInPage(request, next: next, error: "That key or token does not verify.", status: .unauthorized)
            }
            let (cookie, session) = sessions.issue(for: principal)
            guard session.mayRead else {
                return signInPage(request, next: next,
                    error: "This token may not use the console: it needs the service role, a super admin or an operator (app_metadata.role).",
                    status: .forbidden)
            }
            var response = ConsolePages.redirect(next)
            response.setCookie(sessions.cookie(cookie, expiresAt: session.expiresAt, request: request))
            response.setCookie(sessions.signInCookie("", request: request).expired)
            return response
        }
        router.post("/console/sign-out") { request, _ in
            // The CSRF check stops another site from signing a user out; without a session
            // there is nothing to protect, and the cookie is cleared either way.
            let form = try await readForm(request)
            if let session = sessions.session(from: request), !sessions.checkCSRF(form["csrf"], for: session.id) {
                return errorPage(nil, ConsoleError(.forbidden, "The form carried no valid CSRF token."))
            }
            var response = ConsolePages.redirect("/console/sign-in")
            response.setCookie(sessions.cookie("", expiresAt: nil, request: request))
            return response
        }
    }

    private func signInPage(_ request: Request, next: String, error: String?, status: HTTPResponse.Status) -> Response {
        let nonce = ConsoleSessions.randomToken()
        var context = Self.layout(title: "Sign in", nav: "", session: nil, csrf: sessions.csrfToken(for: "sign-in:\(nonce)"))
        context["next"] = next
        if let error { context["error"] = error }
        var response = ConsolePages.html(pages.render("sign_in", context), status: status)
        response.setCookie(sessions.signInCookie(nonce, request: request))
        return response
    }

    /// Where to go after signing in: a console path only (never another site).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/console"), !next.hasPrefix("//"), !next.contains("\\"), !next.hasPrefix("/console/sign-")
        else { return "/console" }
        return next
    }

    // MARK: Pages

    /// A page for a signed-in reader: redirected to sign-in without a session; an error becomes
    /// an HTML page with its status. `?fragment=…` answers the live region's HTML alone.
    private func page(
        _ request: Request, nav: String, _ body: (Page) async throws -> (template: String, title: String, context: [String: Any])
    ) async throws -> Response {
        guard let session = sessions.session(from: request) else {
            let path = request.uri.path + (request.uri.query.map { "?\($0)" } ?? "")
            return ConsolePages.redirect("/console/sign-in?next=\(path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
        }
        let page = Page(session: session, csrf: sessions.csrfToken(for: session.id), database: RequestDatabase(pool: database, principal: session.principal))
        do {
            let (template, title, data) = try await body(page)
            var context = Self.layout(title: title, nav: nav, session: session, csrf: page.csrf)
            context.merge(data) { _, new in new }
            if let fragment = request.uri.queryParameters["fragment"].map(String.init) {
                guard let partial = ["rows": "runs_rows", "detail": "run_detail"][fragment] else {
                    return errorPage(session, ConsoleError(.badRequest, "unknown fragment \"\(fragment.prefix(32))\""))
                }
                return ConsolePages.html(pages.render(partial, context))
            }
            return ConsolePages.html(pages.render(template, context))
        } catch {
            return errorPage(session, Self.consoleError(error))
        }
    }

    /// What a page handler gets: the session, its form token and the database as its caller.
    struct Page {
        let session: ConsoleSessions.Session
        let csrf: String
        let database: RequestDatabase

        /// The JSON document `query` answers, parsed.
        func json(_ query: PostgresQuery) async throws -> JSONValue {
            try JSONValue(json: try await database.query(query)[0].decode(String.self, at: 0))
        }
    }

    static func layout(title: String, nav: String, session: ConsoleSessions.Session?, csrf: String) -> [String: Any] {
        var context: [String: Any] = ["title": title, "csrf": csrf, "nav": [nav: true]]
        if let session {
            context["signedIn"] = true
            context["mayAct"] = session.mayAct
            let principal = session.principal
            context["who"] = principal.role == .serviceRole ? "service role"
                : "\(principal.appRole?.replacingOccurrences(of: "_", with: " ") ?? "user") \(principal.subject.map { String($0.prefix(8)) } ?? "")"
        }
        return context
    }

    func errorPage(_ session: ConsoleSessions.Session?, _ error: ConsoleError) -> Response {
        var context = Self.layout(title: "\(error.status.code) \(error.status.reasonPhrase)", nav: "", session: session,
                                  csrf: session.map { sessions.csrfToken(for: $0.id) } ?? "")
        context["message"] = error.message
        context["back"] = "/console"
        return ConsolePages.html(pages.render("error", context), status: error.status)
    }

    /// The JSON API's mapping of errors to statuses (ErrorMiddleware), for HTML.
    static func consoleError(_ error: any Error) -> ConsoleError {
        switch error {
        case let error as ConsoleError: return error
        case let error as APIError: return ConsoleError(error.status, error.message)
        case let error as PostgresError where error.sqlState == "42501": return ConsoleError(.forbidden, error.message)
        case let error as PostgresError where ["NSR01", "NSF01", "NSN01", "NSE01"].contains(error.sqlState ?? ""):
            return ConsoleError(.notFound, error.message)
        case let error as PostgresError where ["NSR02", "NSN02"].contains(error.sqlState ?? ""):
            return ConsoleError(.conflict, error.message)
        case let error as PostgresError where error.sqlState?.hasPrefix("22") == true: return ConsoleError(.badRequest, error.message)
        case let error as PostgresError where error.kind == .poolTimeout:
            return ConsoleError(.serviceUnavailable, "the server is busy: no database connection was free in time; reload shortly")
        default: return ConsoleError(.internalServerError, "internal error")
        }
    }

    static func uuid(_ context: Context, _ what: String) throws -> UUID {
        let text = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: text) else { throw ConsoleError(.badRequest, "\(what) id \"\(text.prefix(64))\" is not a UUID") }
        return id
    }

    /// A form body (application/x-www-form-urlencoded) as its fields; a repeated field keeps the
    /// last. Percent-encoding triples a JSON payload's punctuation and a JWT alone can pass a
    /// small `[api] max_body_bytes`, so forms get at least 64 KB.
    func readForm(_ request: Request) async throws -> [String: String] {
        let bytes = try await request.readBody(limit: max(maxBodyBytes, 65_536))
        var fields: [String: String] = [:]
        for pair in String(decoding: bytes, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }
}

extension Cookie {
    /// The same cookie, cleared (empty, Max-Age=0).
    var expired: Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: path, secure: secure, httpOnly: httpOnly, sameSite: sameSite ?? .strict)
    }
}
