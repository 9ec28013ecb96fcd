import Engine
import Foundation
import Hummingbird
import Postgres
import Server

/// The coverage pack's administrative trigger, for super admins (`app_metadata.role = super_admin`).
struct RecomputeRoute: APIRoutes {

    struct RecomputeBody: Decodable {
        var institutionID: String?
        enum CodingKeys: String, CodingKey { case institutionID = "institution_id" }
    }

    struct Job: Codable, Sendable {
        let jobID: UUID
        let status: String
        enum CodingKeys: String, CodingKey {
            case status
            case jobID = "job_id"
        }
    }

    func addRoutes(to router: Router<BasicRequestContext>, context api: APIRouteContext) {
        let (database, authenticator, writes, maxBodyBytes) = (api.database, api.authenticator, api.writes, api.maxBodyBytes)
        // POST /api/v1/admin/coverage/recompute {"institution_id"}: the nightly coverage job for
        // one institution, now. 202 with the run; 409 with the run already queued or running.
        router.post("/api/v1/admin/coverage/recompute") { request, _ in
            // The database decides too (api.request_coverage_recompute); refusing here first
            // spares a transaction and says why in the API's words.
            let principal = try await authenticator.require(Set(Principal.Role.allCases), for: request)
            guard principal.isSuperAdmin else {
                throw APIError.forbidden("this endpoint requires app_metadata.role = \(Principal.superAdminRole)")
            }
            try await writes.admit(principal)
            let body = try await request.decodeJSON(RecomputeBody.self, limit: maxBodyBytes)
            guard let text = body.institutionID else { throw APIError.badRequest("field \"institution_id\" is required") }
            guard let institution = UUID(uuidString: text) else {
                throw APIError.badRequest("field \"institution_id\" must be a UUID, got \"\(text.prefix(64))\"")
            }
            let result: (UUID, String, Bool)
            do {
                result = try await RequestDatabase(pool: database, principal: principal).query("""
                    select (r ->> 'job_id')::uuid, r ->> 'status', (r ->> 'created')::boolean
                    from api.request_coverage_recompute(\(institution)) r
                    """)[0].decode(UUID.self, String.self, Bool.self)
            } catch let error as PostgresError where error.sqlState == "NSC01" {
                throw APIError.notFound(error.message)
            } catch let error as PostgresError where error.sqlState == "NSF01" {
                throw APIError.unavailable("coverage/nightly-recompute is not registered: start a worker that declares it")
            }
            let job = Job(jobID: result.0, status: result.1)
            guard result.2 else {
                let jobID = result.0.lowercasedString
                var conflict = APIError.conflict(
                    "a recompute of institution \(institution.lowercasedString) is already \(result.1): job \(jobID)")
                conflict.details = ["job_id": jobID, "status": result.1]
                throw conflict
            }
            return JSONResponse.success(job, status: .accepted)
        }
    }
}
