import Foundation
import Hummingbird
import Postgres

/// The operator's API over the engine (issue 14 §2): runs listed, searched, read, cancelled and
/// rerun; functions listed, enabled and disabled; schedules with their missed slots; events with
/// the runs they fanned out to, replayed; notification deliveries, retried. Any verified service or user token gets past this layer; the `api` functions decide
/// (the service role and super admins read and act, operators — `app_metadata.role = operator` —
/// read only, anyone else is refused with 42501, which the error middleware makes a 403).
struct OperatorRoutes<Context: RequestContext>: Sendable {
    let database: PostgresPool
    let authenticator: Authenticator
    let writes: WriteRateLimiter

    let maxBodyBytes: Int

    struct EnabledBody: Decodable {
        var enabled: Bool?
    }

    func addRoutes(to router: Router<Context>) {
        // Every function with its kind, state, settings and schedule (the next five fire times).
        router.get("/api/v1/functions") { request, _ in
            let caller = try await reader(request)
            _ = try QueryParameters(request, allowed: [])
            return RawJSON.success(try await json(caller, "select api.functions()::text"))
        }
        // PATCH /api/v1/functions/<id> {"enabled": bool}; ids contain slashes (reports/nightly).
        router.patch("/api/v1/functions/**") { request, context in
            let caller = try await writer(request)
            let id = context.parameters.getCatchAll().joined(separator: "/")
            let body = try await request.decodeJSON(EnabledBody.self, limit: maxBodyBytes)
            guard let enabled = body.enabled else { throw APIError.badRequest("field \"enabled\" is required: true or false") }
            return RawJSON.success(try await json(caller, "select api.set_function_enabled(\(id), \(enabled))::text"))
        }

        // GET /api/v1/runs?function=&status=&trigger=&since=&until=&limit=&before=&id=&correlation_id=
        router.get("/api/v1/runs") { request, _ in
            let caller = try await reader(request)
            let query = try QueryParameters(request, allowed: [
                "function", "status", "trigger", "since", "until", "limit", "before", "id", "correlation_id"])
            let limit = try query.integer("limit", in: 1...200) ?? 50
            let document = try await json(caller, """
                select api.runs(\(query.text("function")), \(query.text("status")), \(query.text("trigger")),
                                \(try query.timestamp("since")), \(try query.timestamp("until")), \(limit)::int,
                                \(query.text("before")), \(try query.uuid("id")), \(try query.uuid("correlation_id")))::text
                """)
            return RawJSON.success(document)
        }
        router.get("/api/v1/runs/{id}") { request, context in
            let caller = try await reader(request)
            let id = try Self.runID(context)
            return RawJSON.success(try await json(caller, "select api.run(\(id))::text"))
        }
        router.post("/api/v1/runs/{id}/cancel") { request, context in
            let caller = try await writer(request)
            let id = try Self.runID(context)
            return RawJSON.success(try await json(caller, "select api.cancel_run(\(id))::text"))
        }
        router.post("/api/v1/runs/{id}/rerun") { request, context in
            let caller = try await writer(request)
            let id = try Self.runID(context)
            return RawJSON.success(try await json(caller, "select api.rerun_run(\(id))::text"), status: .accepted)
        }
        addHistoryRoutes(to: router)
    }

    /// Schedules, events and notification deliveries.
    func addHistoryRoutes(to router: Router<Context>) {
        router.get("/api/v1/schedules") { request, _ in
            let caller = try await reader(request)
            _ = try QueryParameters(request, allowed: [])
            return RawJSON.success(try await json(caller, "select api.schedules()::text"))
        }
        // GET /api/v1/events?name=&since=&until=&limit=&before=
        router.get("/api/v1/events") { request, _ in
            let caller = try await reader(request)
            let query = try QueryParameters(request, allowed: ["name", "since", "until", "limit", "before"])
            let limit = try query.integer("limit", in: 1...200) ?? 50
            return RawJSON.success(try await json(caller, """
                select api.events(\(query.text("name")), \(try query.timestamp("since")), \(try query.timestamp("until")),
                                  \(limit)::int, \(query.text("before")))::text
                """))
        }
        router.post("/api/v1/events/{id}/replay") { request, context in
            let caller = try await writer(request)
            let text = context.parameters.get("id") ?? ""
            guard let id = UUID(uuidString: text) else { throw APIError.badRequest("event id \"\(text.prefix(64))\" is not a UUID") }
            return RawJSON.success(try await json(caller, "select api.replay_event(\(id))::text"), status: .accepted)
        }
        // GET /api/v1/deliveries?channel=&status=&limit=&before=
        router.get("/api/v1/deliveries") { request, _ in
            let caller = try await reader(request)
            let query = try QueryParameters(request, allowed: ["channel", "status", "limit", "before"])
            let limit = try query.integer("limit", in: 1...200) ?? 50
            return RawJSON.success(try await json(caller, """
                select api.deliveries(\(query.text("channel")), \(query.text("status")), \(limit)::int, \(query.text("before")))::text
                """))
        }
        router.post("/api/v1/deliveries/{id}/retry") { request, context in
            let caller = try await writer(request)
            let text = context.parameters.get("id") ?? ""
            guard let id = Int64(text), id > 0 else {
                throw APIError.badRequest("delivery id \"\(text.prefix(64))\" is not a positive integer")
            }
            return RawJSON.success(try await json(caller, "select api.retry_delivery(\(id))::text"), status: .accepted)
        }
    }

    private static func runID(_ context: Context) throws(APIError) -> UUID {
        let text = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: text) else { throw .badRequest("run id \"\(text.prefix(64))\" is not a UUID") }
        return id
    }

    /// A verified service or user token; what it may read is the database's decision.
    private func reader(_ request: Request) async throws(APIError) -> Principal {
        try await authenticator.require([.serviceRole, .authenticated], for: request)
    }

    /// The same, for a write: counted against `[api] writes_per_minute` before the database
    /// decides (so a refused operator's attempts are limited too).
    private func writer(_ request: Request) async throws(APIError) -> Principal {
        let principal = try await reader(request)
        try await writes.admit(principal)
        return principal
    }

    /// The one JSON document `query` answers, under the caller's role and claims.
    private func json(_ caller: Principal, _ query: PostgresQuery) async throws -> String {
        try await RequestDatabase(pool: database, principal: caller).query(query)[0].decode(String.self, at: 0)
    }
}

/// A request's query string, checked: only `allowed` names, each at most once, and typed
/// readers whose 400 names the parameter and what it must be.
struct QueryParameters {
    private let values: [String: String]

    init(_ request: Request, allowed: Set<String>) throws(APIError) {
        var values: [String: String] = [:]
        for (key, value) in request.uri.queryParameters {
            let name = String(key)
            guard allowed.contains(name) else {
                throw .badRequest("unknown query parameter \"\(name.prefix(64))\"; use \(allowed.sorted().joined(separator: ", "))")
            }
            guard values[name] == nil else { throw .badRequest("query parameter \(name) is given more than once") }
            // PostgreSQL text cannot hold NUL; refused here, it never reaches a statement.
            guard !value.contains("\0") else { throw .badRequest("query parameter \(name) must not contain NUL") }
            values[name] = String(value)
        }
        self.values = values
    }

    /// The raw value; an empty one counts as absent.
    func text(_ name: String) -> String? {
        values[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    func integer(_ name: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let raw = text(name) else { return nil }
        guard let value = Int(raw), range.contains(value) else {
            throw .badRequest("query parameter \(name) must be an integer from \(range.lowerBound) to \(range.upperBound), got \"\(raw.prefix(32))\"")
        }
        return value
    }

    func uuid(_ name: String) throws(APIError) -> UUID? {
        guard let raw = text(name) else { return nil }
        guard let value = UUID(uuidString: raw) else { throw .badRequest("query parameter \(name) must be a UUID, got \"\(raw.prefix(64))\"") }
        return value
    }

    /// An RFC 3339 timestamp (`2026-12-06T05:00:00Z`, fractional seconds and offsets allowed).
    func timestamp(_ name: String) throws(APIError) -> Date? {
        guard let raw = text(name) else { return nil }
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let value = plain.date(from: raw) ?? fractional.date(from: raw),
              value.timeIntervalSince1970 > -62_135_596_800, value.timeIntervalSince1970 < 253_402_300_800 else {
            throw .badRequest("query parameter \(name) must be an RFC 3339 timestamp such as 2026-12-06T05:00:00Z, got \"\(raw.prefix(64))\"")
        }
        return value
    }
}
