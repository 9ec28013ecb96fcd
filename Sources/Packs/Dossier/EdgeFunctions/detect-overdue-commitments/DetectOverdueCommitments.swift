import Engine
import Foundation
import Postgres
import Server

/// `POST /functions/v1/detect-overdue-commitments` with `{"dryRun"}` (service role): marks
/// commitments past due as overdue, notifies their owners and the dossier owners once each,
/// recalculates the affected dossiers' health. Returns `{overdueCount, notificationsSent,
/// healthScoresRecalculated}`; a dry run changes nothing and reports what it would do.
struct DetectOverdueCommitments: EdgeFunction {
    let name = "detect-overdue-commitments"
    // The story's clients read `result.<field>`; envelope clients keep reading `data`.
    var fieldsAtTopLevel: Bool { true }
    var allowedRoles: Set<Principal.Role>? { [.serviceRole] }
    var isWrite: Bool { true }

    struct Input: Decodable {
        var dryRun: Bool?
    }

    func handle(_ request: EdgeRequest) async throws -> EdgeResponse {
        let dryRun = try request.decode(Input.self).dryRun ?? false
        return .ok(try await mapDossierErrors {
            try await queryJSON(request.database, "select dossier.detect_overdue_commitments(\(dryRun))::text")
        })
    }
}
