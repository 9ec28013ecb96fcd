import Engine
import Foundation
import Hummingbird
import Postgres

/// The console's changes: each a POST with the session's CSRF token, refused for operators
/// here (403) and by `auth.require_admin` in SQL, counted against `[api] writes_per_minute`,
/// and answered with 303 to the page that shows the result.
extension ConsoleRoutes {
    func addActionRoutes(to router: Router<Context>) {
        router.post("/console/functions/enabled") { request, _ in
            try await action(request) { page, form in
                let id = try Self.field(form, "id")
                guard let enabled = ["true": true, "false": false][form["enabled"] ?? ""] else {
                    throw ConsoleError(.badRequest, "field enabled must be true or false")
                }
                _ = try await page.json("select api.set_function_enabled(\(id), \(enabled))::text")
                return ConsolePages.redirect(ConsoleFormat.functionURL(id))
            }
        }
        router.post("/console/functions/run") { request, _ in
            try await action(request) { page, form in
                let id = try Self.field(form, "id")
                let text = (form["payload"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                let payload: JSONValue
                do {
                    payload = text.isEmpty ? .object([:]) : try JSONValue(json: text)
                    guard case .object = payload else { throw ConsoleError(.unprocessableContent, "The payload must be a JSON object, like {\"key\": 1}.") }
                } catch {
                    // Shown in place, next to the payload, with what was typed kept.
                    let message = (error as? ConsoleError)?.message ?? "Not valid JSON: \(Self.describe(error))"
                    let (template, title, data) = try await functions(nil, page, payloadError: (id, text, message))
                    var context = Self.layout(title: title, nav: "functions", session: page.session, csrf: page.csrf)
                    context.merge(data) { _, new in new }
                    return ConsolePages.html(pages.render(template, context), status: .unprocessableContent)
                }
                let result = try await page.json("select api.trigger_run(\(id), \(payload.jsonText)::jsonb)::text")
                return ConsolePages.redirect("/console/runs/\(result["run_id"]?.string ?? "")")
            }
        }
        router.post("/console/runs/{id}/cancel") { request, context in
            let id = try Self.uuid(context, "run")
            return try await action(request) { page, _ in
                _ = try await page.json("select api.cancel_run(\(id))::text")
                return ConsolePages.redirect("/console/runs/\(id.lowercasedString)")
            }
        }
        router.post("/console/runs/{id}/rerun") { request, context in
            let id = try Self.uuid(context, "run")
            return try await action(request) { page, _ in
                let result = try await page.json("select api.rerun_run(\(id))::text")
                return ConsolePages.redirect("/console/runs/\(result["run_id"]?.string ?? "")")
            }
        }
        router.post("/console/events/{id}/replay") { request, context in
            let id = try Self.uuid(context, "event")
            return try await action(request) { page, _ in
                let result = try await page.json("select api.replay_event(\(id))::text")
                return ConsolePages.redirect("/console/events?name=\(result["name"]?.string?.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
            }
        }
        router.post("/console/deliveries/{id}/retry") { request, context in
            let text = context.parameters.get("id") ?? ""
            return try await action(request) { page, _ in
                guard let id = Int64(text), id > 0 else { throw ConsoleError(.badRequest, "delivery id \"\(text.prefix(32))\" is not a positive integer") }
                _ = try await page.json("select api.retry_delivery(\(id))::text")
                return ConsolePages.redirect("/console/notifications?status=pending")
            }
        }
    }

    /// A change: a session (else 401 and the sign-in link), its CSRF token (else 403), a caller
    /// who may act (else 403: an operator reads only), a write the limiter admits; then `body`.
    private func action(_ request: Request, _ body: (Page, [String: String]) async throws -> Response) async throws -> Response {
        guard let session = sessions.session(from: request) else {
            return errorPage(nil, ConsoleError(.unauthorized, "Your console session has ended: sign in again."))
        }
        let page = Page(session: session, csrf: sessions.csrfToken(for: session.id), database: RequestDatabase(pool: database, principal: session.principal))
        do {
            let form = try await readForm(request)
            guard sessions.checkCSRF(form["csrf"], for: session.id) else {
                throw ConsoleError(.forbidden, "The form carried no valid CSRF token: reload the page and try again.")
            }
            guard session.mayAct else {
                throw ConsoleError(.forbidden, "An operator reads but does not change: this needs the service role or a super admin.")
            }
            try await writes.admit(session.principal)
            return try await body(page, form)
        } catch {
            return errorPage(session, Self.consoleError(error))
        }
    }

    private static func field(_ form: [String: String], _ name: String) throws -> String {
        guard let value = form[name], !value.isEmpty else { throw ConsoleError(.badRequest, "field \(name) is required") }
        return value
    }

    /// A JSON parse error in a sentence (Foundation's carries its reason in the debug description).
    static func describe(_ error: any Error) -> String {
        if let decoding = error as? DecodingError, case .dataCorrupted(let context) = decoding {
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? context.debugDescription
        }
        return "\(error)"
    }
}
