import Foundation
import Server

/// The calling user's id: the token's `sub`, which user-scoped functions need as a UUID.
func callerUserID(_ request: EdgeRequest) throws -> UUID {
    guard let subject = request.principal?.subject else {
        throw APIError.forbidden("this function reads the caller's own data: it needs a user token with a sub claim")
    }
    guard let id = UUID(uuidString: subject) else {
        throw APIError.forbidden("the token's sub claim is not a user id (a UUID): \"\(subject.prefix(64))\"")
    }
    return id
}
