import Engine
import Foundation
import Postgres
import Server

/// `POST /functions/v1/mark-notification-read` with `{"notificationId"}`: marks one of the
/// caller's notifications read. Another user's notification is answered like a missing one
/// (404), so ids cannot be probed.
struct MarkNotificationRead: EdgeFunction {
    let name = "mark-notification-read"
    var allowedRoles: Set<Principal.Role>? { [.authenticated] }
    var isWrite: Bool { true }

    struct Input: Decodable {
        var notificationId: String?
    }

    func handle(_ request: EdgeRequest) async throws -> EdgeResponse {
        let id = try requireUUID(try request.decode(Input.self).notificationId, field: "notificationId")
        _ = try callerUserID(request)  // a clear 403 first; the database itself acts for the token's sub only
        let marked = try await request.database.query("select api.mark_notification_read(\(id))")[0].decode(Bool.self, at: 0)
        guard marked else { throw APIError.notFound("no notification \(id.uuidString.lowercased()) for this user") }
        return .ok(JSONValue.object(["notificationId": .string(id.uuidString.lowercased()), "read": .bool(true)]))
    }
}
