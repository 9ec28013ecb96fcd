import Engine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import TestSupport
import Testing

@testable import Server

/// Issue 14 §1: the operator console over real HTTP. Sign-in exchanges a key for a signed,
/// HttpOnly, SameSite=Strict cookie; every page answers 200 with its content; every POST needs
/// the session's CSRF token; an operator sees no action and a forged POST is refused (403).
@Suite("operator console: sign-in, cookie, CSRF, operator refusal, every page", .serialized)
struct ConsoleTests {
    static let operatorID = "00000000-0000-4000-8000-0000000000c1"
    static let adminID = "00000000-0000-4000-8000-0000000000c2"
    static let queued = "00000000-0000-4000-8000-000000000101"
    static let completed = "00000000-0000-4000-8000-000000000102"
    static let failed = "00000000-0000-4000-8000-000000000103"

    /// Whether a route pattern belongs to the console (kept out of the OpenAPI document and the
    /// token authorization matrix, and covered here).
    static func isConsole(_ path: String) -> Bool { path == "/console" || path.hasPrefix("/console/") }

    static let seed = """
        insert into nightshift.runs (id, function_id, status, max_attempts, trigger_kind, correlation_id, created_at, started_at, finished_at, error) values
            ('\(queued)', 'nightshift/noop', 'queued', 1, 'manual', 'c0000000-0000-4000-8000-000000000101', now() - interval '3 minutes', null, null, null),
            ('\(completed)', 'nightshift/noop', 'completed', 1, 'manual', 'c0000000-0000-4000-8000-000000000102', now() - interval '2 minutes',
             now() - interval '2 minutes', now() - interval '110 seconds', null),
            ('\(failed)', 'nightshift/diagnostics', 'failed', 1, 'manual', 'c0000000-0000-4000-8000-000000000103', now() - interval '1 minute',
             now() - interval '1 minute', now() - interval '50 seconds', '{"message": "boom <b>"}');
        insert into nightshift.steps (run_id, name, output, attempt, completed_at) values
            ('\(completed)', 'fetch', '{"rows": 3}', 1, now() - interval '115 seconds'),
            ('\(completed)', 'store', '"done"', 1, now() - interval '111 seconds');
        insert into nightshift.run_attempts (run_id, lease_token, attempt, worker, started_at, finished_at, outcome)
            values ('\(completed)', 7, 1, 'worker-a', now() - interval '2 minutes', now() - interval '110 seconds', 'completed');
        insert into nightshift.events (name, data) values ('console.test', '{"n": 1}');
        """

    /// A migrated database with the built-in functions and the seed, served on loopback.
    func withConsole(_ body: @escaping @Sendable (any TestClientProtocol, String) async throws -> Void) async throws {
        try await TestDatabase.withMigratedDatabase { url async throws in
            let pool = PostgresPool(configuration: PostgresConfiguration(url: url), maxConnections: 1)
            try await FunctionRegistry(Builtins.all).sync(to: pool)
            await pool.close()
            let owner = try await PostgresConnection.connect(url: url)
            try await owner.executeScript(Self.seed)
            await owner.close()
            try await withServer(databaseURL: url) { client async throws in try await body(client, url) }
        }
    }

    // MARK: HTTP helpers

    struct Page {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: String

        var setCookies: [String] { headers[values: .setCookie] }
        /// The value of `name=` in the response's Set-Cookie, if any.
        func cookie(_ name: String) -> String? {
            setCookies.first { $0.hasPrefix("\(name)=") }.map { String($0.dropFirst(name.count + 1).prefix { $0 != ";" }) }
        }
        /// The first `name="csrf" value="…"` of the page.
        var csrf: String? {
            guard let range = body.range(of: "name=\"csrf\" value=\"") else { return nil }
            return String(body[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    static func get(_ client: any TestClientProtocol, _ uri: String, cookie: String? = nil, headers extra: HTTPFields = [:]) async throws -> Page {
        var headers = extra
        if let cookie { headers[.cookie] = cookie }
        return try await client.execute(uri: uri, method: .get, headers: headers) {
            Page(status: $0.status, headers: $0.headers, body: String(buffer: $0.body))
        }
    }

    static func post(_ client: any TestClientProtocol, _ uri: String, cookie: String?, form: [(String, String)], headers extra: HTTPFields = [:]) async throws -> Page {
        var headers = extra
        headers[.contentType] = "application/x-www-form-urlencoded"
        if let cookie { headers[.cookie] = cookie }
        let body = form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body)) {
            Page(status: $0.status, headers: $0.headers, body: String(buffer: $0.body))
        }
    }

    /// Signs in with `token`; the session cookie header (`nightshift_console=…`) and the sign-in answer.
    static func signIn(_ client: any TestClientProtocol, token: String, headers: HTTPFields = [:]) async throws -> (cookie: String?, reply: Page) {
        let form = try await get(client, "/console/sign-in", headers: headers)
        let nonce = try #require(form.cookie(ConsoleSessions.signInCookieName))
        let reply = try await post(client, "/console/sign-in", cookie: "\(ConsoleSessions.signInCookieName)=\(nonce)",
                                   form: [("csrf", form.csrf ?? ""), ("token", token), ("next", "/console/runs")], headers: headers)
        return (reply.cookie(ConsoleSessions.cookieName).map { "\(ConsoleSessions.cookieName)=\($0)" }, reply)
    }

    static func serviceKey() async throws -> String { try await testConfig().auth.serviceRoleKey }

    // MARK: Tests

    @Test("without a session every page redirects to sign-in; the service key signs in to an HttpOnly, SameSite=Strict cookie")
    func signIn() async throws {
        try await withConsole { client, _ in
            let anonymous = try await Self.get(client, "/console/runs?status=failed")
            #expect(anonymous.status == .seeOther)
            #expect(anonymous.headers[.location] == "/console/sign-in?next=%2Fconsole%2Fruns%3Fstatus%3Dfailed")

            let form = try await Self.get(client, "/console/sign-in?next=/console/runs")
            #expect(form.status == .ok)
            #expect(form.body.contains("<label for=\"token\">"))
            #expect(form.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("script-src 'self'") == true)

            let (cookie, reply) = try await Self.signIn(client, token: try await Self.serviceKey())
            #expect(reply.status == .seeOther)
            #expect(reply.headers[.location] == "/console/runs")
            let set = try #require(reply.setCookies.first { $0.hasPrefix("nightshift_console=") })
            #expect(set.contains("HttpOnly"))
            #expect(set.contains("SameSite=Strict"))
            #expect(set.contains("Path=/"))
            #expect(set.contains("Max-Age="))
            #expect(!set.contains("Secure"), "plain HTTP on loopback: no Secure")

            let runs = try await Self.get(client, "/console/runs", cookie: cookie)
            #expect(runs.status == .ok)
            #expect(runs.body.contains("service role"))

            // Behind a TLS proxy the cookie is Secure.
            let (_, tls) = try await Self.signIn(client, token: try await Self.serviceKey(), headers: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            #expect(tls.setCookies.first { $0.hasPrefix("nightshift_console=") }?.contains("Secure") == true)
        }
    }

    @Test("a wrong token, the anon key, a plain user and a forged sign-in form are refused")
    func signInRefusals() async throws {
        try await withConsole { client, _ in
            let (none, wrong) = try await Self.signIn(client, token: "not-a-jwt")
            #expect(wrong.status == .unauthorized)
            #expect(none == nil)
            #expect(wrong.body.contains("does not verify"))

            let (anonCookie, anon) = try await Self.signIn(client, token: try await testConfig().auth.anonKey)
            #expect(anon.status == .forbidden)
            #expect(anonCookie == nil)
            let (userCookie, user) = try await Self.signIn(client, token: try await token(role: "authenticated", sub: Self.adminID))
            #expect(user.status == .forbidden)
            #expect(userCookie == nil)

            // The sign-in form's own token: another site's form (no nonce cookie) is refused.
            let forged = try await Self.post(client, "/console/sign-in", cookie: nil, form: [("token", try await Self.serviceKey())])
            #expect(forged.status == .forbidden)
            #expect(forged.cookie(ConsoleSessions.cookieName) == nil)
        }
    }

    @Test("every page answers 200 with its content, under 100 KB, and the live fragments alone")
    func everyPage() async throws {
        try await withConsole { client, _ in
            let (cookie, _) = try await Self.signIn(client, token: try await Self.serviceKey())
            let pages: [(String, [String])] = [
                ("/console", ["Runs per minute", "<svg class=\"chart\"", "Queue", "nightshift/noop", "Duration, last 24 hours"]),
                ("/console/functions", ["nightshift/noop", "Run nightshift/noop now", "Disable nightshift/noop", "Last runs of nightshift/noop"]),
                ("/console/runs", [Self.queued, Self.completed, Self.failed, "data-live=\"/api/v1/stream\"", "<th scope=\"col\">Status</th>"]),
                ("/console/runs?status=failed", [Self.failed]),
                ("/console/runs?q=c0000000-0000-4000-8000-000000000102", [Self.completed]),
                ("/console/runs/\(Self.completed)", ["fetch", "store", "worker-a", "&quot;rows&quot; : 3", "<rect x="]),
                ("/console/runs/\(Self.failed)", ["boom &lt;b&gt;", "Rerun with the same payload"]),
                ("/console/schedules", ["Schedules and missed slots"]),
                ("/console/events", ["console.test", "Replay console.test"]),
                ("/console/notifications", ["Deliveries by channel and status"]),
            ]
            for (path, needles) in pages {
                let page = try await Self.get(client, path, cookie: cookie)
                #expect(page.status == .ok, "\(path): \(page.body.prefix(300))")
                #expect(page.headers[.contentType] == "text/html; charset=utf-8", "\(path)")
                #expect(page.body.utf8.count < 100_000, "\(path) weighs \(page.body.utf8.count) bytes")
                for needle in needles { #expect(page.body.contains(needle), "\(path) lacks \(needle)") }
            }
            let filtered = try await Self.get(client, "/console/runs?status=failed", cookie: cookie)
            #expect(!filtered.body.contains(Self.queued))

            let rows = try await Self.get(client, "/console/runs?fragment=rows", cookie: cookie)
            #expect(rows.status == .ok)
            #expect(rows.body.contains(Self.queued))
            #expect(!rows.body.contains("<html"), "a fragment is the region's HTML alone")
            let detail = try await Self.get(client, "/console/runs/\(Self.completed)?fragment=detail", cookie: cookie)
            #expect(detail.body.contains("worker-a") && !detail.body.contains("<nav"))

            let css = try await Self.get(client, "/console/assets/console.css")
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8")
            let js = try await Self.get(client, "/console/assets/console.js")
            #expect(js.body.contains("EventSource"))

            let unknown = try await Self.get(client, "/console/runs/00000000-0000-4000-8000-00000000dead", cookie: cookie)
            #expect(unknown.status == .notFound)
            #expect(unknown.body.contains("unknown run"))
        }
    }

    @Test("a POST without the session's CSRF token is refused (403) and changes nothing; with it the run is cancelled")
    func csrf() async throws {
        try await withConsole { client, url in
            let (cookie, _) = try await Self.signIn(client, token: try await Self.serviceKey())
            let bare = try await Self.post(client, "/console/runs/\(Self.queued)/cancel", cookie: cookie, form: [])
            #expect(bare.status == .forbidden)
            #expect(bare.body.contains("CSRF"))
            let wrong = try await Self.post(client, "/console/runs/\(Self.queued)/cancel", cookie: cookie, form: [("csrf", "AAAA")])
            #expect(wrong.status == .forbidden)
            #expect(try await Self.status(url, Self.queued) == "queued")

            let page = try await Self.get(client, "/console/runs/\(Self.queued)", cookie: cookie)
            let done = try await Self.post(client, "/console/runs/\(Self.queued)/cancel", cookie: cookie, form: [("csrf", page.csrf ?? "")])
            #expect(done.status == .seeOther)
            #expect(done.headers[.location] == "/console/runs/\(Self.queued)")
            #expect(try await Self.status(url, Self.queued) == "cancelled")

            // Rerun the failed one: a new queued run, and the answer leads to it.
            let rerun = try await Self.post(client, "/console/runs/\(Self.failed)/rerun", cookie: cookie, form: [("csrf", page.csrf ?? "")])
            #expect(rerun.status == .seeOther)
            let location = try #require(rerun.headers[.location])
            #expect(location.hasPrefix("/console/runs/") && !location.hasSuffix(Self.failed))

            // No session at all: 401, never an action.
            let stranger = try await Self.post(client, "/console/runs/\(Self.queued)/rerun", cookie: nil, form: [("csrf", page.csrf ?? "")])
            #expect(stranger.status == .unauthorized)
        }
    }

    @Test("the overview shows the packs' figures to an operator: each market's next scoring run, the dossier scores' freshness")
    func packFigures() async throws {
        try await withConsole { client, url in
            let owner = try await PostgresConnection.connect(url: url)
            try await owner.executeScript("""
                insert into portfolio.markets (code, name, time_zone, local_open_time) values ('TT', 'Test Tokyo', 'Asia/Tokyo', '09:00')
                """)
            await owner.close()
            let operatorToken = try await token(role: "authenticated", sub: Self.operatorID, appRole: "operator")
            let (cookie, _) = try await Self.signIn(client, token: operatorToken)
            let overview = try await Self.get(client, "/console", cookie: cookie)
            #expect(overview.status == .ok)
            for needle in ["Portfolio markets", "Next TT run", "(opens 00:00 UTC, Asia/Tokyo)", "Dossier freshness", "Fresh scores (newer than"] {
                #expect(overview.body.contains(needle), "the overview lacks \(needle)")
            }
        }
    }

    @Test("an operator reads every page without action buttons; a forged POST with a valid CSRF token is 403 and changes nothing")
    func operatorReadsOnly() async throws {
        try await withConsole { client, url in
            let operatorToken = try await token(role: "authenticated", sub: Self.operatorID, appRole: "operator")
            let (cookie, reply) = try await Self.signIn(client, token: operatorToken)
            #expect(reply.status == .seeOther)
            for path in ["/console/functions", "/console/runs/\(Self.queued)", "/console/events", "/console/notifications"] {
                let page = try await Self.get(client, path, cookie: cookie)
                #expect(page.status == .ok, "\(path)")
                #expect(page.body.contains("read only"))
                #expect(!page.body.contains("<button type=\"submit\">Run") && !page.body.contains("Cancel this run")
                        && !page.body.contains("Replay ") && !page.body.contains("Disable "), "\(path) shows an action to an operator")
            }
            let page = try await Self.get(client, "/console/runs/\(Self.queued)", cookie: cookie)
            let forged = try await Self.post(client, "/console/runs/\(Self.queued)/cancel", cookie: cookie, form: [("csrf", page.csrf ?? "")])
            #expect(forged.status == .forbidden)
            #expect(forged.body.contains("An operator reads but does not change"))
            #expect(try await Self.status(url, Self.queued) == "queued")
            let run = try await Self.post(client, "/console/functions/run", cookie: cookie,
                                          form: [("csrf", page.csrf ?? ""), ("id", "nightshift/noop"), ("payload", "{}")])
            #expect(run.status == .forbidden)
        }
    }

    @Test("run now: a payload that is not a JSON object is shown in place (422, the text kept); a valid one starts a run")
    func runNow() async throws {
        try await withConsole { client, url in
            let (cookie, _) = try await Self.signIn(client, token: try await Self.serviceKey())
            let page = try await Self.get(client, "/console/functions", cookie: cookie)
            let csrf = page.csrf ?? ""
            let broken = try await Self.post(client, "/console/functions/run", cookie: cookie,
                                             form: [("csrf", csrf), ("id", "nightshift/noop"), ("payload", "{\"a\": ")])
            #expect(broken.status == .unprocessableContent)
            #expect(broken.body.contains("Not valid JSON"))
            #expect(broken.body.contains("{&quot;a&quot;:</textarea>"), "the text typed is kept (trimmed)")
            let array = try await Self.post(client, "/console/functions/run", cookie: cookie,
                                            form: [("csrf", csrf), ("id", "nightshift/noop"), ("payload", "[1]")])
            #expect(array.body.contains("must be a JSON object"))

            let started = try await Self.post(client, "/console/functions/run", cookie: cookie,
                                              form: [("csrf", csrf), ("id", "nightshift/noop"), ("payload", "{\"from\": \"console\"}")])
            #expect(started.status == .seeOther)
            let id = String(try #require(started.headers[.location]).dropFirst("/console/runs/".count))
            let owner = try await PostgresConnection.connect(url: url)
            let payload = try await owner.query("select payload::text, trigger_kind from nightshift.runs where id = \(UUID(uuidString: id)!)")[0]
            #expect(try payload.decode(String.self, at: 0) == #"{"from": "console"}"#)
            #expect(try payload.decode(String.self, at: 1) == "manual")

            // Disable, then enable again.
            let off = try await Self.post(client, "/console/functions/enabled", cookie: cookie,
                                          form: [("csrf", csrf), ("id", "nightshift/noop"), ("enabled", "false")])
            #expect(off.status == .seeOther)
            #expect(try await owner.query("select enabled from nightshift.functions where id = 'nightshift/noop'")[0].decode(Bool.self, at: 0) == false)
            let listed = try await Self.get(client, "/console/functions", cookie: cookie)
            #expect(listed.body.contains("Enable nightshift/noop"))
            await owner.close()
        }
    }

    @Test("past 20 functions the functions page comes in pages under 100 KB; ?function= opens the page that holds one, as links and actions do")
    func functionPages() async throws {
        try await withConsole { client, url in
            // 45 more functions, one with an id that needs encoding in a URL (any non-blank text is an id).
            let owner = try await PostgresConnection.connect(url: url)
            try await owner.executeScript("""
                select nightshift.define_function('t/f' || lpad(i::text, 2, '0'), 'sql', '{"sql": "select 1"}') from generate_series(1, 44) i;
                select nightshift.define_function('t/z&b#c+d', 'sql', '{"sql": "select 1"}', cron => '0 3 * * *');
                """)
            let ids = try await owner.query("select id from nightshift.functions order by id").map { try $0.decode(String.self, at: 0) }
            await owner.close()
            #expect(ids.count > 40)
            let pages = (ids.count + 19) / 20
            let (cookie, _) = try await Self.signIn(client, token: try await Self.serviceKey())
            func cards(_ page: Page) -> [String] {
                page.body.components(separatedBy: "<section class=\"card\"").dropFirst().compactMap { card in
                    card.range(of: "<span class=\"mono\">").map { String(card[$0.upperBound...].prefix { $0 != "<" }) }
                }
            }

            let first = try await Self.get(client, "/console/functions", cookie: cookie)
            #expect(first.status == .ok)
            #expect(first.body.utf8.count < 100_000, "page 1 weighs \(first.body.utf8.count) bytes")
            #expect(cards(first) == Array(ids.prefix(20)).map { $0.replacingOccurrences(of: "&", with: "&amp;") })
            #expect(first.body.contains("Functions 1–20 of \(ids.count), page 1 of \(pages)"))
            #expect(first.body.contains("href=\"/console/functions?page=2\" rel=\"next\""))
            #expect(!first.body.contains("rel=\"prev\""))

            let last = try await Self.get(client, "/console/functions?page=\(pages)", cookie: cookie)
            #expect(cards(last).count == ids.count - 20 * (pages - 1))
            #expect(last.body.contains("href=\"/console/functions?page=\(pages - 1)\" rel=\"prev\""))
            #expect(!last.body.contains("rel=\"next\""))
            let beyond = try await Self.get(client, "/console/functions?page=99", cookie: cookie)
            #expect(beyond.status == .ok && cards(beyond) == cards(last), "a page past the end shows the last one")
            let bad = try await Self.get(client, "/console/functions?page=two", cookie: cookie)
            #expect(bad.status == .badRequest)
            #expect(bad.body.contains("page must be a whole number from 1"))

            // The odd id sorts last: its schedule links to the page that holds its card.
            let schedules = try await Self.get(client, "/console/schedules", cookie: cookie)
            let link = "/console/functions?function=t/z%26b%23c%2Bd#f-t-z-b-c-d"
            #expect(schedules.body.contains("href=\"\(link.replacingOccurrences(of: "&", with: "&amp;"))\""), "\(schedules.body)")
            let located = try await Self.get(client, String(link.prefix { $0 != "#" }), cookie: cookie)
            #expect(located.status == .ok)
            #expect(cards(located).contains("t/z&amp;b#c+d"))
            #expect(located.body.contains("id=\"f-t-z-b-c-d\""))
            #expect(located.body.contains("page \(pages) of \(pages)"))
            let missing = try await Self.get(client, "/console/functions?function=no/such", cookie: cookie)
            #expect(missing.status == .notFound)
            #expect(missing.body.contains("No function is named &quot;no/such&quot;"))

            // An action on a function of a later page answers with that page.
            let toggled = try await Self.post(client, "/console/functions/enabled", cookie: cookie,
                                              form: [("csrf", first.csrf ?? ""), ("id", "t/z&b#c+d"), ("enabled", "false")])
            #expect(toggled.status == .seeOther)
            #expect(toggled.headers[.location] == link)
        }
    }

    @Test("sign-out clears the cookie; a tampered, foreign or expired cookie is no session")
    func cookies() async throws {
        try await withConsole { client, _ in
            let (cookie, _) = try await Self.signIn(client, token: try await Self.serviceKey())
            let page = try await Self.get(client, "/console", cookie: cookie)
            let out = try await Self.post(client, "/console/sign-out", cookie: cookie, form: [("csrf", page.csrf ?? "")])
            #expect(out.status == .seeOther)
            #expect(out.setCookies.contains { $0.hasPrefix("nightshift_console=;") && $0.contains("Max-Age=0") })
        }
        let config = try await testConfig()
        let sessions = ConsoleSessions(auth: config.auth, alwaysSecure: false)
        let principal = Principal(role: .authenticated, subject: Self.operatorID, appRole: "operator")
        let (value, session) = sessions.issue(for: principal)
        #expect(sessions.session(fromCookie: value)?.principal == principal)
        #expect(session.mayRead && !session.mayAct)
        // One character of the payload changed: the MAC no longer verifies.
        var tampered = Array(value)
        tampered[3] = tampered[3] == "A" ? "B" : "A"
        #expect(sessions.session(fromCookie: String(tampered)) == nil)
        // Another server's secret signs cookies this one refuses.
        var other = config.auth
        other.jwtSecret = "another-secret-0123456789abcdef0123456789abcdef"
        #expect(ConsoleSessions(auth: other, alwaysSecure: false).session(fromCookie: value) == nil)
        #expect(sessions.session(fromCookie: value, now: Date().addingTimeInterval(ConsoleSessions.lifetime + 1)) == nil)
        // A token that expires sooner ends the session sooner.
        let shortLived = Principal(role: .serviceRole, claimsJSON: #"{"role":"service_role","exp":\#(Int(Date().timeIntervalSince1970) + 60)}"#)
        let (short, _) = sessions.issue(for: shortLived)
        #expect(sessions.session(fromCookie: short, now: Date().addingTimeInterval(120)) == nil)
        #expect(sessions.session(fromCookie: short)?.mayAct == true)
        #expect(sessions.checkCSRF(sessions.csrfToken(for: session.id), for: session.id))
        #expect(!sessions.checkCSRF(sessions.csrfToken(for: "other"), for: session.id))
    }

    @Test("the live stream (GET /api/v1/stream) reads the console's cookie: a signed-in page gets events, no cookie a 401")
    func streamTakesTheCookie() async throws {
        try await withConsole { client, _ in
            let (cookie, _) = try await Self.signIn(client, token: try await token(role: "authenticated", sub: Self.operatorID, appRole: "operator"))
            let stream = try await Self.get(client, "/api/v1/stream?timeout=1", cookie: cookie)
            #expect(stream.status == .ok)
            #expect(stream.headers[.contentType] == "text/event-stream")
            #expect(stream.body.hasPrefix(": connected"))
            let none = try await Self.get(client, "/api/v1/stream?timeout=1")
            #expect(none.status == .unauthorized)
        }
    }

    @Test("a reading route shared with token clients (the live stream) takes a token first, else the console cookie")
    func readerForStream() async throws {
        let config = try await testConfig()
        let authenticator = try await NightshiftServer.checkedAuthenticator(config: config)
        let sessions = ConsoleSessions(auth: config.auth, alwaysSecure: false)
        let router = Router()
        router.get("/probe") { request, _ -> Response in
            do {
                let caller = try await sessions.reader(for: request, authenticator: authenticator)
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "\(caller.role.rawValue) \(caller.appRole ?? "-")")))
            } catch {
                return Response(status: (error as? APIError)?.status ?? .internalServerError)
            }
        }
        let operatorPrincipal = Principal(role: .authenticated, subject: Self.operatorID, appRole: "operator")
        let (cookie, _) = sessions.issue(for: operatorPrincipal)
        let app = Application(router: router)
        try await app.test(.router) { client in
            func probe(_ headers: HTTPFields) async throws -> String {
                try await client.execute(uri: "/probe", method: .get, headers: headers) { "\($0.status.code) \(String(buffer: $0.body))" }
            }
            let byCookie = try await probe([.cookie: "nightshift_console=\(cookie)"])
            #expect(byCookie == "200 authenticated operator")
            let byKey = try await probe([.authorization: "Bearer \(config.auth.serviceRoleKey)"])
            #expect(byKey == "200 service_role -")
            // A bad token is a 401 even beside a good cookie; no credentials at all a 401.
            let badToken = try await probe([.authorization: "Bearer nope", .cookie: "nightshift_console=\(cookie)"])
            #expect(badToken == "401 ")
            let nothing = try await probe([:])
            #expect(nothing == "401 ")
            let tampered = try await probe([.cookie: "nightshift_console=\(cookie)x"])
            #expect(tampered == "401 ")
            let anon = try await probe([.authorization: "Bearer \(config.auth.anonKey)"])
            #expect(anon == "403 ")
        }
    }

    @Test("the console's routes are HTML, kept out of the OpenAPI document")
    func notInOpenAPI() async throws {
        let config = try await testConfig()
        let document = NightshiftServer.openAPIDocument(config: config, functions: [], metrics: false)
        #expect(!document.paths.keys.contains { Self.isConsole($0.rawValue) })
    }

    @Test("a cron expression in words", arguments: [
        ("* * * * *", "every minute"),
        ("*/5 * * * *", "every 5 minutes"),
        ("0 * * * *", "every hour at :00"),
        ("30 2 * * *", "at 02:30, every day"),
        ("0 9 * * 1-5", "at 09:00, on Monday to Friday"),
        ("15 6,18 * * *", "at 06:15 and 18:15, every day"),
        ("0 0 1 * *", "at 00:00, on day 1 of the month"),
        ("0 3 * 1,7 0", "at 03:00, on Sunday in January and July"),
        ("0 */6 * * *", "every 6 hours at :00"),
        ("1 second", "every second"),
        ("30 seconds", "every 30 seconds"),
        ("5-10/2 * * * *", "5-10/2 * * * *"),
    ])
    func cronWords(expression: String, words: String) {
        #expect(CronWords.describe(expression) == words)
    }

    static func status(_ url: String, _ id: String) async throws -> String {
        let owner = try await PostgresConnection.connect(url: url)
        defer { Task { await owner.close() } }
        return try await owner.query("select status from nightshift.runs where id = \(UUID(uuidString: id)!)")[0].decode(String.self, at: 0)
    }
}
