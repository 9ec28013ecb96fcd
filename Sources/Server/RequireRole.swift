import Hummingbird

extension Authenticator {
    /// The caller, who must hold one of `roles` (401 without a valid token, 403 with another role).
    public func require(_ roles: Set<Principal.Role>, for request: Request) async throws(APIError) -> Principal {
        guard let principal = try await principal(for: request) else {
            throw .unauthorized("missing token: send \"Authorization: Bearer <jwt>\" or an apikey header")
        }
        guard roles.contains(principal.role) else {
            throw .forbidden("this endpoint requires role \(roles.map(\.rawValue).sorted().joined(separator: ", "))")
        }
        return principal
    }
}

extension Request {
    /// Reads a JSON body of at most `limit` bytes into `T`, with errors naming what is wrong.
    public func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws(APIError) -> T {
        let bytes = try await readBody(limit: limit)
        let body = bytes.isEmpty ? Array("{}".utf8) : bytes
        try JSONBody.validate(body)
        return try JSONBody.decode(type, from: body)
    }

    /// The whole body, refused with 413 past `limit` (announced or actual size).
    public func readBody(limit: Int) async throws(APIError) -> [UInt8] {
        if let length = headers[.contentLength].flatMap(Int.init), length > limit {
            throw .payloadTooLarge(limit: limit)
        }
        do {
            return Array(try await body.collect(upTo: limit).readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw .payloadTooLarge(limit: limit)
        } catch {
            throw .badRequest("request body could not be read: \(error)")
        }
    }
}
