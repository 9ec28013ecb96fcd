import Foundation
import Postgres
import Server

/// `POST /functions/v1/hello` with `{"name": "Ada"}`: greets the caller and proves the whole
/// path (auth, body, database) works end to end.
struct Hello: EdgeFunction {
    let name = "hello"

    struct Input: Decodable {
        var name: String?
    }

    struct Output: Encodable, Sendable {
        let message: String
        let role: String
        let databaseTime: Date

        enum CodingKeys: String, CodingKey {
            case message, role
            case databaseTime = "database_time"
        }
    }

    func handle(_ request: EdgeRequest) async throws -> EdgeResponse {
        let input = try request.decode(Input.self)
        let who = input.name?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if who.count > 200 {
            throw APIError.badRequest("field \"name\" must be at most 200 characters")
        }
        let rows = try await request.database.query("select now()")
        let now = try rows.first!.decode(Date.self, at: 0)
        return .ok(Output(
            message: "Hello, \(who.isEmpty ? "world" : who)!",
            role: request.principal?.role.rawValue ?? "none",
            databaseTime: now))
    }
}
