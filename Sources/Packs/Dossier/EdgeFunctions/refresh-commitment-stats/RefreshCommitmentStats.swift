import Engine
import Foundation
import Postgres
import Server

/// `POST /functions/v1/refresh-commitment-stats` (service role): refreshes the commitment
/// statistics view concurrently (readers are never blocked) and says how long it took.
struct RefreshCommitmentStats: EdgeFunction {
    let name = "refresh-commitment-stats"
    // The story's clients read `result.<field>`; envelope clients keep reading `data`.
    var fieldsAtTopLevel: Bool { true }
    var allowedRoles: Set<Principal.Role>? { [.serviceRole] }
    var isWrite: Bool { true }

    func handle(_ request: EdgeRequest) async throws -> EdgeResponse {
        _ = try request.decode([String: JSONValue].self)  // a body, if any, must be a JSON object
        return .ok(try await queryJSON(request.database, "select dossier.refresh_commitment_stats()::text"))
    }
}
