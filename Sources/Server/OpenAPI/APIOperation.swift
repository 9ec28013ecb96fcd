import HTTPTypes
import OpenAPIKit

/// One operation of the HTTP API as `GET /api/v1/openapi.json` describes it: method, path,
/// who may call it, its parameters, request body and answers. The engine's are in
/// `EngineOperations` (Server); an ``EdgeFunction`` describes itself with ``EdgeFunction/openAPI``,
/// an ``APIRoutes`` with ``APIRoutes/operations``.
public struct APIOperation: Sendable {
    /// The HTTP method.
    public var method: HTTPRequest.Method
    /// The OpenAPI path template (`/api/v1/runs/{id}`); each `{name}` needs a path parameter.
    public var path: String
    /// A stable, unique id (`getRun`): what generated clients name the call.
    public var operationID: String
    /// The group it is listed under (`engine`, `edge functions`, a pack's name).
    public var tag: String
    /// One line: what it does.
    public var summary: String
    /// More: limits, what each status means.
    public var description: String?
    /// Who may call it; drives the operation's `security`, `x-nightshift-roles` and 401/403.
    public var access: APIAccess
    /// Path and query parameters.
    public var parameters: [OpenAPI.Parameter]
    /// The JSON body's schema; nil when it takes none.
    public var requestBody: JSONSchema?
    /// Whether the body is required (a POST whose handler reads `{}` for an empty body is not).
    public var requestBodyRequired: Bool
    /// The success answers.
    public var responses: [APIResponse]
    /// The error statuses beyond those ``access`` and ``isWrite`` imply (each an error envelope).
    public var errors: [Int]
    /// Counted against `[api] writes_per_minute`: adds 429.
    public var isWrite: Bool

    /// An operation; 401/403 come from `access`, 429 from `isWrite`, 400 and 413 from a body,
    /// and 503 (timeout, no free connection) is on every one.
    public init(
        _ method: HTTPRequest.Method, _ path: String, id operationID: String, tag: String, summary: String,
        description: String? = nil, access: APIAccess, parameters: [OpenAPI.Parameter] = [],
        requestBody: JSONSchema? = nil, requestBodyRequired: Bool = false, responses: [APIResponse],
        errors: [Int] = [], isWrite: Bool = false
    ) {
        self.method = method
        self.path = path
        self.operationID = operationID
        self.tag = tag
        self.summary = summary
        self.description = description
        self.access = access
        self.parameters = parameters
        self.requestBody = requestBody
        self.requestBodyRequired = requestBodyRequired
        self.responses = responses
        self.errors = errors
        self.isWrite = isWrite
    }
}

/// One success answer: a status and the schema of the envelope's `data` (or, for the few
/// routes outside the envelope, of the whole body).
public struct APIResponse: Sendable {
    /// The status (200, 201, 202).
    public var status: Int
    /// What the answer means.
    public var description: String
    /// The schema: of `data` inside `{"data", "error": null}`, or of the body when `enveloped` is false.
    public var schema: JSONSchema
    /// The media type (`application/json`, or `text/plain` for metrics).
    public var contentType: OpenAPI.ContentType
    /// False for bodies outside the envelope (the metrics text, this document).
    public var enveloped: Bool
    /// True when the body also carries `data`'s fields at its top level, beside `data` and
    /// `error` (``EdgeFunction/fieldsAtTopLevel``).
    public var fieldsAtTopLevel = false

    /// `schema` as the envelope's `data`.
    public static func data(_ status: Int = 200, _ description: String, _ schema: JSONSchema) -> APIResponse {
        APIResponse(status: status, description: description, schema: schema, contentType: .json, enveloped: true)
    }

    /// `schema` as the envelope's `data` and, for an object, its fields at the top level too.
    public static func dataAndFields(_ status: Int = 200, _ description: String, _ schema: JSONSchema) -> APIResponse {
        APIResponse(status: status, description: description, schema: schema, contentType: .json, enveloped: true, fieldsAtTopLevel: true)
    }

    /// A body outside the envelope.
    public static func raw(_ status: Int = 200, _ description: String, _ schema: JSONSchema, contentType: OpenAPI.ContentType) -> APIResponse {
        APIResponse(status: status, description: description, schema: schema, contentType: contentType, enveloped: false)
    }
}

/// Who may call an operation: no token at all, or a token with one of `roles`.
public struct APIAccess: Sendable, Equatable {
    /// The callers, as the document lists them in `x-nightshift-roles`: token roles (`anon`,
    /// `authenticated`, `service_role`) and application roles (`super_admin`, `operator`,
    /// from `app_metadata.role` on an authenticated token).
    public var roles: [String]
    /// False: a call without a token is served too (`/health`, a `verify_jwt = false` function).
    public var requiresToken: Bool
    /// What the roles alone do not say (whose rows a user sees).
    public var note: String?

    /// Every role listed; `requiresToken` false serves callers without a token too.
    public init(roles: [String], requiresToken: Bool = true, note: String? = nil) {
        self.roles = roles
        self.requiresToken = requiresToken
        self.note = note
    }

    /// No token needed, none checked (a public contract, a health check).
    public static let open = APIAccess(roles: [], requiresToken: false)

    /// A token of one of these roles.
    public static func roles(_ roles: Set<Principal.Role>, note: String? = nil) -> APIAccess {
        APIAccess(roles: Principal.Role.allCases.filter(roles.contains).map(\.rawValue), note: note)
    }

    /// An authenticated token whose `app_metadata.role` is `super_admin`.
    public static let superAdmin = APIAccess(roles: [Principal.superAdminRole])
}
