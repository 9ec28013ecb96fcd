import Hummingbird
import Logging
import Postgres

/// Turns every error into the JSON envelope, so clients never see an HTML page or an
/// empty body. Unexpected errors are logged in full and answered with a generic 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The routes, for 405's `Allow`.
    let routes: RouteIndex

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return JSONResponse.failure(error)
        } catch let error as HTTPError {
            return JSONResponse.failure(translate(error, request: request))
        } catch let error as PostgresError where error.sqlState == "42501" {
            // insufficient_privilege under the request's role: the database refused the caller.
            return JSONResponse.failure(.forbidden(error.message))
        } catch let error as PostgresError where Self.unknownRow.contains(error.sqlState ?? "") {
            return JSONResponse.failure(.notFound(error.message))
        } catch let error as PostgresError where Self.wrongState.contains(error.sqlState ?? "") {
            // The row's state forbids the change; the SQL puts that state alone in DETAIL.
            var conflict = APIError.conflict(error.message)
            if let state = error.detail { conflict.details["status"] = state }
            return JSONResponse.failure(conflict)
        } catch let error as PostgresError where error.sqlState?.hasPrefix("22") == true || error.sqlState == "54000" {
            // A data exception (class 22: out of range, bad format, NUL) or a value over a
            // program limit (54000, e.g. an index row too large) comes from what the caller sent.
            return JSONResponse.failure(.badRequest(error.message, code: "invalid_input"))
        } catch let error as PostgresError where error.kind == .poolTimeout {
            // Every API connection is busy: the caller should come back, the worker is unharmed
            // (it has its own connections).
            return JSONResponse.failure(.unavailable("the server is busy: no database connection was free in time; retry shortly"))
        } catch {
            // The safe description: a PostgresError's DETAIL and query may carry data.
            context.logger.error("unhandled error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return JSONResponse.failure(APIError(.internalServerError, code: "internal", message: "internal error"))
        }
    }

    /// The engine's "no such row" codes: an unknown run (NSR01), function (NSF01), delivery
    /// (NSN01) or event (NSE01) is the caller's 404.
    static var unknownRow: Set<String> { ["NSR01", "NSF01", "NSN01", "NSE01"] }

    /// The engine's "not in this state" codes: cancelling a finished run (NSR02), retrying a
    /// delivered delivery (NSN02) is the caller's 409, with the row's state in `error.status`.
    static var wrongState: Set<String> { ["NSR02", "NSN02"] }

    private func translate(_ error: HTTPError, request: Request) -> APIError {
        switch error.status {
        case .notFound:
            let allowed = routes.methods(for: request.uri.path)
            guard !allowed.isEmpty else { return .notFound("no route for \(request.method) \(request.uri.path)") }
            let names = allowed.map(\.rawValue).joined(separator: ", ")
            var refused = APIError(.methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed on \(request.uri.path); use \(names)")
            refused.headers[.allow] = names
            return refused
        case .contentTooLarge:
            return APIError(.contentTooLarge, code: "payload_too_large", message: error.body ?? "request body too large")
        case .methodNotAllowed:
            return APIError(.methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed on \(request.uri.path)")
        default:
            return APIError(error.status, code: "http_\(error.status.code)", message: error.body ?? error.status.reasonPhrase)
        }
    }
}
