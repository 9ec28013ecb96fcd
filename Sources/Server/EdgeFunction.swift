import Config
import Logging
import Postgres

/// An HTTP edge function: one folder under `functions/`, served at `POST /functions/v1/<name>`.
public protocol EdgeFunction: Sendable {
    /// The path segment, which is also the folder name and the `[functions.<name>]` config key.
    var name: String { get }
    /// The roles that may call it; nil lets every verified caller in.
    var allowedRoles: Set<Principal.Role>? { get }
    /// Whether a call changes data (a recalculation, a sweep, marking read): such calls count
    /// against `[api] writes_per_minute`.
    var isWrite: Bool { get }
    /// Whether a success answer that is a JSON object also carries its fields at the top level
    /// of the body, beside the envelope's `data` (the same object) and `error: null`: clients
    /// written for a Supabase edge function read `result.someField`, envelope clients read
    /// `result.data.someField`. A field named `data` or `error` stays only inside `data`.
    /// Errors are the envelope either way.
    var fieldsAtTopLevel: Bool { get }
    /// Handles one call; throw `APIError` for a client error with its status.
    func handle(_ request: EdgeRequest) async throws -> EdgeResponse
    /// Its body and answer for `GET /api/v1/openapi.json`; the default takes any object.
    var openAPI: EdgeFunctionDescription { get }
}

extension EdgeFunction {
    /// Every verified caller may call it; the function's own SQL, under the caller's role, decides
    /// what each may see.
    public var allowedRoles: Set<Principal.Role>? { nil }
    /// A read: calls are not counted against `[api] writes_per_minute`.
    public var isWrite: Bool { false }
    /// The plain envelope: the answer only in `data`.
    public var fieldsAtTopLevel: Bool { false }
}

/// What an edge function gets: the caller, the JSON body, and the platform's resources.
public struct EdgeRequest: Sendable {
    /// The verified caller; nil only for functions with `verify_jwt = false` called without a token.
    public let principal: Principal?
    /// The raw body (already checked to be valid JSON, or empty).
    public let body: [UInt8]
    /// The database under the caller's role and claims: row-level security applies.
    public let database: RequestDatabase
    /// The whole loaded config; the function's own `[functions.<name>]` settings are
    /// `config.functionSettings(name)`.
    public let config: NightshiftConfig
    /// The request's logger, its lines tagged with the function's name.
    public let logger: Logger

    /// Decodes the body; an empty body decodes as `{}`. Errors name the field at fault.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws(APIError) -> T {
        try JSONBody.decode(type, from: body.isEmpty ? Array("{}".utf8) : body)
    }
}

/// What an edge function answers: a status and a JSON value, sent inside the envelope (and, for
/// a function with ``EdgeFunction/fieldsAtTopLevel``, beside it too).
public struct EdgeResponse: Sendable {
    /// The success status (200, 201 or 202); errors are thrown as ``APIError`` instead.
    public let status: HTTPStatus
    /// The value sent as the envelope's `data`.
    public let data: any Encodable & Sendable

    /// An answer of `data` with `status` (200 unless given).
    public init(status: HTTPStatus = .ok, data: any Encodable & Sendable) {
        self.status = status
        self.data = data
    }

    /// 200 with `data`.
    public static func ok(_ data: any Encodable & Sendable) -> EdgeResponse {
        EdgeResponse(data: data)
    }
}

/// The statuses an edge function may answer with, without importing the HTTP stack.
public enum HTTPStatus: Int, Sendable {
    /// 200 OK: the answer is in `data`.
    case ok = 200
    /// 201 Created: the call made something new (its representation in `data`).
    case created = 201
    /// 202 Accepted: work was queued (a run enqueued), not done yet.
    case accepted = 202
}
