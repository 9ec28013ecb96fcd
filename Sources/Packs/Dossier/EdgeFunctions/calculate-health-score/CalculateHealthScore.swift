import Engine
import Foundation
import Postgres
import Server

/// `POST /functions/v1/calculate-health-score` with `{"dossierId", "forceRecalculation"}`: the
/// stored score when it is fresh, else (or when forced) a new one; with its components.
struct CalculateHealthScore: EdgeFunction {
    let name = "calculate-health-score"
    // The story's clients read `result.<field>`; envelope clients keep reading `data`.
    var fieldsAtTopLevel: Bool { true }
    var allowedRoles: Set<Principal.Role>? { [.authenticated, .serviceRole] }
    var isWrite: Bool { true }

    struct Input: Decodable {
        var dossierId: String?
        var forceRecalculation: Bool?
    }

    func handle(_ request: EdgeRequest) async throws -> EdgeResponse {
        let input = try request.decode(Input.self)
        let id = try requireUUID(input.dossierId, field: "dossierId")
        let force = input.forceRecalculation ?? false
        let rows = try await mapDossierErrors {
            try await request.database.query("""
                select jsonb_build_object(
                    'dossierId', h.dossier_id,
                    'overallScore', h.overall_score,
                    'components', jsonb_build_object(
                        'engagementFrequency', trim_scale(h.engagement_frequency),
                        'commitmentFulfillment', trim_scale(h.commitment_fulfillment),
                        'recencyScore', trim_scale(h.recency_score)),
                    'inputs', jsonb_build_object(
                        'engagementsInWindow', h.engagements_in_window,
                        'lastEngagementAt', h.last_engagement_at,
                        'commitmentsFulfilled', h.commitments_fulfilled,
                        'commitmentsMissed', h.commitments_missed),
                    'previousOverallScore', h.previous_overall_score,
                    'calculatedAt', h.calculated_at)::text
                from api.calculate_health_score(\(id), \(force)) h
                """)
        }
        return .ok(try JSONValue(json: try rows[0].decode(String.self, at: 0)))
    }
}
