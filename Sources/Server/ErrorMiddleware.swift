import Hummingbird
import Logging

/// Turns every error into the JSON envelope, so clients never see an HTML page or an
/// empty body. Unexpected errors are logged in full and answered with a generic 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return JSONResponse.failure(error)
        } catch let error as HTTPError {
            return JSONResponse.failure(Self.translate(error, request: request))
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return JSONResponse.failure(APIError(.internalServerError, code: "internal", message: "internal error"))
        }
    }

    private static func translate(_ error: HTTPError, request: Request) -> APIError {
        switch error.status {
        case .notFound:
            return .notFound("no route for \(request.method) \(request.uri.path)")
        case .contentTooLarge:
            return APIError(.contentTooLarge, code: "payload_too_large", message: error.body ?? "request body too large")
        case .methodNotAllowed:
            return APIError(.methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed on \(request.uri.path)")
        default:
            return APIError(error.status, code: "http_\(error.status.code)", message: error.body ?? error.status.reasonPhrase)
        }
    }
}
