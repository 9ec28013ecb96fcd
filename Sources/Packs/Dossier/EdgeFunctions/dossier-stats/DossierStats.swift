import Engine
import Foundation
import Postgres
import Server

/// `POST /functions/v1/dossier-stats` with `{"dossierId"}` or `{"dossierIds": [...]}` (at most
/// 100): engagement and commitment statistics and the health score of each dossier, read
/// from the materialised views in one query.
struct DossierStats: EdgeFunction {
    let name = "dossier-stats"
    // The story's clients read `result.<field>`; envelope clients keep reading `data`.
    var fieldsAtTopLevel: Bool { true }
    var allowedRoles: Set<Principal.Role>? { [.authenticated, .serviceRole] }
    static let maxDossiers = 100

    struct Input: Decodable {
        var dossierId: String?
        var dossierIds: [String]?
    }

    func handle(_ request: EdgeRequest) async throws -> EdgeResponse {
        let input = try request.decode(Input.self)
        let ids: [UUID]
        switch (input.dossierId, input.dossierIds) {
        case (let one?, nil): ids = [try requireUUID(one, field: "dossierId")]
        case (nil, let many?): ids = try requireUUIDs(many, field: "dossierIds", max: Self.maxDossiers)
        case (nil, nil): throw APIError.badRequest("field \"dossierId\" or \"dossierIds\" is required")
        case (_?, _?): throw APIError.badRequest("send either \"dossierId\" or \"dossierIds\", not both")
        }
        let rows = try await mapDossierErrors {
            try await request.database.query("select dossier_id, found, stats::text from api.dossier_stats(\(ids))")
        }
        var found: [JSONValue] = []
        var missing: [String] = []
        for row in rows {
            let (id, exists, stats) = try row.decode(UUID.self, Bool.self, String?.self)
            if exists, let stats { found.append(try JSONValue(json: stats)) } else { missing.append(id.lowercasedString) }
        }
        if input.dossierId != nil {
            guard let one = found.first else { throw APIError.notFound("unknown dossier \(ids[0].lowercasedString)") }
            return .ok(one)
        }
        return .ok(JSONValue.object(["dossiers": .array(found), "notFound": .array(missing.map(JSONValue.string))]))
    }
}
