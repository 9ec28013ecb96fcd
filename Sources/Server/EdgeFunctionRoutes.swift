import Config
import Engine
import Foundation
import Hummingbird
import Logging
import Postgres

/// `POST /functions/v1/<name>`: authenticates, checks the role, reads and validates the
/// body within the configured limit, then calls the function.
struct EdgeFunctionRoutes<Context: RequestContext>: Sendable {
    let functions: [String: any EdgeFunction]
    let authenticator: Authenticator
    let writes: WriteRateLimiter
    let database: PostgresPool
    let config: NightshiftConfig

    func addRoutes(to router: Router<Context>) {
        router.post("/functions/v1/{name}") { request, context in
            try await call(request: request, context: context)
        }
    }

    private func call(request: Request, context: Context) async throws -> Response {
        let name = context.parameters.get("name") ?? ""
        let principal = try await authenticator.principal(for: request)
        guard let function = functions[name] else {
            // Without a token nobody learns which functions exist.
            guard principal != nil else { throw APIError.unauthorized(missingToken) }
            throw APIError.notFound("unknown function \"\(name)\"")
        }
        if config.functionSettings(name).verifyJWT, principal == nil {
            throw APIError.unauthorized(missingToken)
        }
        if let allowed = function.allowedRoles {
            guard let principal, allowed.contains(principal.role) else {
                let names = allowed.map(\.rawValue).sorted().joined(separator: ", ")
                throw APIError.forbidden("function \"\(name)\" requires role \(names)")
            }
        }
        if function.isWrite, let principal { try await writes.admit(principal) }
        let body = try await request.readBody(limit: config.api.maxBodyBytes)
        if !body.isEmpty { try JSONBody.validate(body) }

        var logger = context.logger
        logger[metadataKey: "function"] = "\(name)"
        let edgeRequest = EdgeRequest(
            principal: principal, body: body, database: RequestDatabase(pool: database, principal: principal), config: config,
            logger: logger)
        let response = try await function.handle(edgeRequest)
        let status = HTTPResponse.Status(code: response.status.rawValue)
        guard function.fieldsAtTopLevel else { return JSONResponse.success(AnyEncodable(response.data), status: status) }
        // The answer as a JSON value, to copy its fields: most functions return one already.
        let value = try (response.data as? JSONValue) ?? JSONValue(json: String(decoding: JSONResponse.encoder.encode(AnyEncodable(response.data)), as: UTF8.self))
        return JSONResponse.successWithFieldsAtTopLevel(value, status: status)
    }
}

/// Lets the envelope carry whatever a function returned.
struct AnyEncodable: Encodable, Sendable {
    let value: any Encodable & Sendable

    init(_ value: any Encodable & Sendable) {
        self.value = value
    }

    func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
    }
}

private let missingToken = "missing token: send \"Authorization: Bearer <jwt>\" or an apikey header"
