import Engine
import Foundation
import Postgres
import Server

/// `POST /functions/v1/notifications` with `{"unreadOnly", "limit"}`: the caller's in-app
/// notifications, newest first, each with `digest` (true for a digest of what the daily cap held
/// back), and `heldBackToday`, how many the cap held back today (they arrive in tomorrow's
/// digest). Only the caller's own: the database reads them for the token's `sub`.
struct ListNotifications: EdgeFunction {
    let name = "notifications"
    var allowedRoles: Set<Principal.Role>? { [.authenticated] }
    static let maxLimit = 200

    struct Input: Decodable {
        var unreadOnly: Bool?
        var limit: Int?
    }

    func handle(_ request: EdgeRequest) async throws -> EdgeResponse {
        let input = try request.decode(Input.self)
        _ = try callerUserID(request)  // a clear 403 first; the database itself acts for the token's sub only
        let limit = input.limit ?? 50
        guard (1...Self.maxLimit).contains(limit) else {
            throw APIError.badRequest("field \"limit\" must be between 1 and \(Self.maxLimit), got \(limit)")
        }
        let rows = try await request.database.query("""
            select coalesce(jsonb_agg(jsonb_build_object(
                'id', n.id, 'title', n.title, 'message', n.message, 'metadata', n.metadata,
                'read', n.read, 'createdAt', n.created_at,
                'digest', coalesce(n.metadata -> 'digest' = 'true', false)) order by n.created_at desc, n.id), '[]')::text,
                   api.notifications_held_back()
            from api.notifications(\(input.unreadOnly ?? false), \(limit)::int) n
            """)
        let (notifications, heldBack) = try rows[0].decode(String.self, Int.self)
        return .ok(JSONValue.object([
            "notifications": try JSONValue(json: notifications),
            "heldBackToday": .number(Decimal(heldBack)),
        ]))
    }
}
