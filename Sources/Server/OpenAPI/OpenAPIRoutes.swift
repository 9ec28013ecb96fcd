import Foundation
import Hummingbird
import Synchronization

/// `GET /api/v1/openapi.json`: the document, public (it is the API's contract), built on the
/// first request and served from memory after.
struct OpenAPIRoutes<Context: RequestContext>: Sendable {
    let document: OpenAPIDocumentCache

    func addRoutes(to router: Router<Context>) {
        router.get("/api/v1/openapi.json") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json; charset=utf-8"],
                body: ResponseBody(byteBuffer: try document.bytes()))
        }
    }
}

/// The encoded document, built once: the routes cannot change while the process runs.
final class OpenAPIDocumentCache: Sendable {
    private let build: @Sendable () throws -> Data
    private let cached = Mutex<ByteBuffer?>(nil)

    init(_ build: @escaping @Sendable () throws -> Data) {
        self.build = build
    }

    func bytes() throws -> ByteBuffer {
        try cached.withLock { cached in
            if let cached { return cached }
            let bytes = ByteBuffer(bytes: try build())
            cached = bytes
            return bytes
        }
    }
}
