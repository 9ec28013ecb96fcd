import Config
import OpenAPIKit

/// What the OpenAPI document says of one edge function, beside what the server knows itself
/// (its path, roles, `verify_jwt`, whether it writes).
public struct EdgeFunctionDescription: Sendable {
    /// One line: what it does.
    public var summary: String
    /// More: limits, what each status means.
    public var description: String?
    /// The JSON body's schema (an empty body reads as `{}`).
    public var requestBody: JSONSchema
    /// The success status (200, 201 or 202).
    public var status: Int
    /// The schema of the envelope's `data` on success (and of the body's top level too, for a
    /// function with ``EdgeFunction/fieldsAtTopLevel``).
    public var response: JSONSchema
    /// Error statuses beyond 400, 401, 403, 413, 429 and 503, which the server adds as they apply.
    public var errors: [Int]
    /// The group it is listed under (default `edge functions`).
    public var tag: String

    /// A description; the defaults take any JSON object and answer any JSON value.
    public init(
        summary: String, description: String? = nil, requestBody: JSONSchema = .object, status: Int = 200,
        response: JSONSchema = APISchemas.anyJSON(), errors: [Int] = [], tag: String = "edge functions"
    ) {
        self.summary = summary
        self.description = description
        self.requestBody = requestBody
        self.status = status
        self.response = response
        self.errors = errors
        self.tag = tag
    }
}

extension EdgeFunction {
    /// A generic description, so a new function is listed before it describes itself.
    public var openAPI: EdgeFunctionDescription {
        EdgeFunctionDescription(summary: "The \(name) edge function", description: "Not described yet: any JSON object in, any JSON value out.")
    }
}

extension APIRoutes {
    /// None: routes that do not describe themselves make the OpenAPI tests fail, naming them.
    public var operations: [APIOperation] { [] }
}

extension EdgeFunction {
    /// The operation `POST /functions/v1/<name>`, with `[functions.<name>] verify_jwt` from `config`.
    func operation(config: NightshiftConfig) -> APIOperation {
        let described = openAPI
        let roles = allowedRoles ?? Set(Principal.Role.allCases)
        var access = APIAccess.roles(roles)
        access.requiresToken = config.functionSettings(name).verifyJWT
        return APIOperation(
            .post, "/functions/v1/\(name)", id: "function_" + name.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined(),
            tag: described.tag, summary: described.summary, description: described.description, access: access,
            requestBody: described.requestBody,
            responses: [fieldsAtTopLevel
                ? .dataAndFields(described.status, "Success: the answer's fields at the top level, and in `data`", described.response)
                : .data(described.status, "Success", described.response)],
            errors: described.errors, isWrite: isWrite)
    }
}
