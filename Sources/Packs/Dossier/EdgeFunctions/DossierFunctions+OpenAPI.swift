import OpenAPIKit
import Server

// What `GET /api/v1/openapi.json` says of the dossier pack's edge functions: bodies and answers.
// Each answers its fields at the top level (`result.overallScore`, as the product's clients read
// them) and the same object in `data`, beside `error: null` (fieldsAtTopLevel); errors are the
// envelope.

private let tag = "dossier"

extension CalculateHealthScore {
    var openAPI: EdgeFunctionDescription {
        EdgeFunctionDescription(
            summary: "A dossier's health score: the stored one when fresh, else (or when forced) a new one",
            description: "404 for a dossier the caller cannot see; 403 for a viewer asking for a recalculation.",
            requestBody: .object(properties: [
                "dossierId": APISchemas.uuid(), "forceRecalculation": .boolean(required: false),
            ]),
            response: .object(properties: [
                "dossierId": APISchemas.uuid(),
                "overallScore": .integer(nullable: true),
                "components": .object,
                "inputs": .object,
                "previousOverallScore": .integer(nullable: true),
                "calculatedAt": APISchemas.timestamp(),
            ]),
            errors: [404], tag: tag)
    }
}

extension DetectOverdueCommitments {
    var openAPI: EdgeFunctionDescription {
        EdgeFunctionDescription(
            summary: "Mark past-due commitments overdue, notify their owners once each, recalculate the dossiers' health",
            description: "A dry run changes nothing and reports what it would do.",
            requestBody: .object(properties: ["dryRun": .boolean(required: false)]),
            response: .object(properties: [
                "overdueCount": APISchemas.count(), "notificationsSent": APISchemas.count(),
                "healthScoresRecalculated": APISchemas.count(), "notificationsSuppressed": APISchemas.count(),
                "scoreDropNotificationsSent": APISchemas.count(), "dryRun": .boolean,
            ]),
            tag: tag)
    }
}

extension DossierStats {
    var openAPI: EdgeFunctionDescription {
        EdgeFunctionDescription(
            summary: "Engagement and commitment statistics and the health score of one dossier or up to 100",
            description: "`dossierId` answers that dossier's statistics (404 when the caller cannot see it); `dossierIds` answers `{dossiers, notFound}`. Send one of the two.",
            requestBody: .one(of: [
                .object(properties: ["dossierId": APISchemas.uuid()]),
                .object(properties: ["dossierIds": .array(minItems: 1, maxItems: 100, items: .string(format: .uuid))]),
            ]),
            response: .one(of: [
                .object(properties: [
                    "dossierId": APISchemas.uuid(), "name": .string, "ownerId": APISchemas.uuid(),
                    "engagementStats": .object, "commitmentStats": .object, "healthScore": .object(nullable: true),
                ]),
                .object(properties: [
                    "dossiers": .array(items: .object(properties: ["dossierId": APISchemas.uuid()])),
                    "notFound": .array(items: .string(format: .uuid)),
                ]),
            ]),
            errors: [404], tag: tag)
    }
}

extension RefreshCommitmentStats {
    var openAPI: EdgeFunctionDescription {
        EdgeFunctionDescription(
            summary: "Refresh the commitment statistics view concurrently and say how long it took",
            response: .object(properties: [
                "view": .string, "rows": APISchemas.count(), "refreshedAt": APISchemas.timestamp(), "durationMs": .number,
            ]),
            tag: tag)
    }
}

extension TriggerHealthRecalculation {
    var openAPI: EdgeFunctionDescription {
        EdgeFunctionDescription(
            summary: "Recalculate the given dossiers' health (at most 1,000), or every stale score without a body",
            description: "404 when a given dossier does not exist.",
            requestBody: .object(properties: [
                "dossierIds": .array(required: false, minItems: 1, maxItems: 1000, items: .string(format: .uuid)),
            ]),
            response: .object(properties: ["recalculated": APISchemas.count(), "notificationsSent": APISchemas.count()]),
            errors: [404], tag: tag)
    }
}
