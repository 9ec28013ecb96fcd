import Engine
import Foundation
import Postgres
import Server

/// `POST /functions/v1/trigger-health-recalculation` (service role): recalculates the given
/// dossiers (`{"dossierIds": [...]}`, at most 1,000), or every stale score without a body,
/// in one statement. Returns `{recalculated, notificationsSent}`.
struct TriggerHealthRecalculation: EdgeFunction {
    let name = "trigger-health-recalculation"
    // The story's clients read `result.<field>`; envelope clients keep reading `data`.
    var fieldsAtTopLevel: Bool { true }
    var allowedRoles: Set<Principal.Role>? { [.serviceRole] }
    var isWrite: Bool { true }
    static let maxDossiers = 1000

    struct Input: Decodable {
        var dossierIds: [String]?
    }

    func handle(_ request: EdgeRequest) async throws -> EdgeResponse {
        let input = try request.decode(Input.self)
        return .ok(try await mapDossierErrors {
            if let texts = input.dossierIds {
                let ids = try requireUUIDs(texts, field: "dossierIds", max: Self.maxDossiers)
                return try await queryJSON(request.database, "select dossier.recalculate_health_scores(\(ids))::text")
            }
            return try await queryJSON(request.database, "select dossier.recalculate_stale_scores()::text")
        })
    }
}
