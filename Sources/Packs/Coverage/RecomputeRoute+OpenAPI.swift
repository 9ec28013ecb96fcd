import OpenAPIKit
import Server

extension RecomputeRoute {
    /// `POST /api/v1/admin/coverage/recompute` for `GET /api/v1/openapi.json`.
    var operations: [APIOperation] {
        let job = JSONSchema.object(properties: ["job_id": APISchemas.uuid(), "status": .string])
        return [
            APIOperation(
                .post, "/api/v1/admin/coverage/recompute", id: "recomputeCoverage", tag: "coverage",
                summary: "Run the nightly coverage job for one institution now",
                description: "202 with the queued run; 409 (with `job_id` and `status` in the error) when one is already queued or running; 404 for an unknown institution; 503 when no worker declares the job.",
                access: .superAdmin,
                requestBody: .object(properties: ["institution_id": APISchemas.uuid()]),
                requestBodyRequired: true,
                responses: [.data(202, "The recompute is queued", job)],
                errors: [404, 409], isWrite: true),
        ]
    }
}
