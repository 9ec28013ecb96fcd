import Engine
import Foundation
import Hummingbird
import Postgres

/// The engine over HTTP, for the service role only: trigger runs and send events. Reading and
/// steering runs and functions is ``OperatorRoutes``'.
struct EngineRoutes<Context: RequestContext>: Sendable {
    let database: PostgresPool
    let authenticator: Authenticator
    let writes: WriteRateLimiter
    let maxBodyBytes: Int

    struct TriggerBody: Decodable {
        var payload: JSONValue?
        var idempotencyKey: String?

        enum CodingKeys: String, CodingKey {
            case payload
            case idempotencyKey = "idempotency_key"
        }
    }

    struct EventBody: Decodable {
        var name: String
        var data: JSONValue?
        var idempotencyKey: String?

        enum CodingKeys: String, CodingKey {
            case name, data
            case idempotencyKey = "idempotency_key"
        }
    }

    struct Queued: Encodable, Sendable {
        let runID: UUID
        let status: String

        enum CodingKeys: String, CodingKey {
            case status
            case runID = "run_id"
        }
    }

    struct EventAccepted: Encodable, Sendable {
        let eventID: UUID

        enum CodingKeys: String, CodingKey {
            case eventID = "event_id"
        }
    }

    func addRoutes(to router: Router<Context>) {
        // Function ids contain slashes (reports/nightly-refresh), so the id is the path
        // between /functions/ and the final /runs.
        router.post("/api/v1/functions/**") { request, context in
            let client = try await serviceClient(request, writing: true)
            let segments = context.parameters.getCatchAll()
            guard segments.count >= 2, segments.last == "runs" else {
                throw APIError.notFound("no route for POST \(request.uri.path); use /api/v1/functions/<id>/runs")
            }
            let functionID = segments.dropLast().joined(separator: "/")
            let body = try await request.decodeJSON(TriggerBody.self, limit: maxBodyBytes)
            try Self.checkLength(body.idempotencyKey, field: "idempotency_key")
            let payload = body.payload ?? .object([:])
            guard case .object = payload else { throw APIError.badRequest("field \"payload\" must be an object") }
            let runID = try await mapUnknownFunction(functionID) {
                try await client.trigger(functionID, payloadJSON: payload.jsonText, idempotencyKey: body.idempotencyKey)
            }
            return JSONResponse.success(Queued(runID: runID, status: "queued"), status: .accepted)
        }
        router.post("/api/v1/events") { request, _ in
            let client = try await serviceClient(request, writing: true)
            let body = try await request.decodeJSON(EventBody.self, limit: maxBodyBytes)
            guard !body.name.isEmpty else { throw APIError.badRequest("field \"name\" must not be empty") }
            try Self.checkLength(body.name, field: "name")
            try Self.checkLength(body.idempotencyKey, field: "idempotency_key")
            let id = try await client.sendEvent(body.name, dataJSON: (body.data ?? .object([:])).jsonText, idempotencyKey: body.idempotencyKey)
            return JSONResponse.success(EventAccepted(eventID: id), status: .accepted)
        }
    }

    /// Names and keys are indexed: past a few kilobytes no index takes them, so they are capped.
    static var maxKeyLength: Int { 255 }

    private static func checkLength(_ text: String?, field: String) throws(APIError) {
        if let text, text.utf8.count > maxKeyLength {
            throw .badRequest("field \"\(field)\" takes at most \(maxKeyLength) bytes, got \(text.utf8.count)")
        }
    }

    /// The engine under the service caller's role (every route here is the service role's).
    private func serviceClient(_ request: Request, writing: Bool) async throws -> EngineClient {
        let principal = try await authenticator.require([.serviceRole], for: request)
        if writing { try await writes.admit(principal) }
        return EngineClient(database: RequestDatabase(pool: database, principal: principal))
    }

    /// An unknown or retired function (SQLSTATE NSF01) is the caller's 404; an invalid
    /// argument (22023) their 400.
    private func mapUnknownFunction<T>(_ id: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresError where error.sqlState == "NSF01" {
            throw APIError.notFound(error.message)
        } catch let error as PostgresError where error.sqlState == "22023" {
            throw APIError.badRequest(error.message)
        }
    }
}
