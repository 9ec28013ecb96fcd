import Engine
import Foundation
import Hummingbird
import Postgres
import Server

/// The investment planner's reads and its one write, for the signed-in user (the token's `sub`):
/// the dashboard (from the cache the overnight run warmed, else computed), the audit of an
/// asset's calculations, and saving scoring criteria. Every query runs under the caller's role
/// and claims and calls an `api` function that takes the user from the token's `sub`, so no
/// argument can reach another user's data. Documents come from SQL as JSON text and are passed
/// through unparsed: decimal strings stay exact and nothing is decoded twice.
struct PortfolioRoutes: APIRoutes {

    struct CriteriaBody: Decodable {
        var criteria: JSONValue?
    }

    func addRoutes(to router: Router<BasicRequestContext>, context api: APIRouteContext) {
        let (authenticator, writes, maxBodyBytes) = (api.authenticator, api.writes, api.maxBodyBytes)
        /// The signed-in user; service and anonymous tokens have no user to read for.
        @Sendable func caller(_ request: Request) async throws -> Principal {
            let principal = try await authenticator.require([.authenticated], for: request)
            guard let subject = principal.subject, UUID(uuidString: subject) != nil else {
                throw APIError.forbidden("the token's sub must be a user id (UUID)")
            }
            return principal
        }
        @Sendable func portfolioQuery(_ caller: Principal, _ query: PostgresQuery) async throws -> String {
            try await Self.query(api.database, caller, query)
        }

        // GET /api/dashboard: {"recommendations", "totalInvestable", "baseCurrency", "dataFreshness", "fromCache"}.
        router.get("/api/dashboard") { request, _ in
            let user = try await caller(request)
            let document = try await portfolioQuery(user, "select api.dashboard()::text")
            return RawJSON.success(document)
        }

        // GET /api/v1/audit/assets/<assetId>/calculations?limit=20&before=<computedAt>: newest first.
        router.get("/api/v1/audit/assets/:assetId/calculations") { request, context in
            let user = try await caller(request)
            let text = context.parameters.get("assetId") ?? ""
            guard let asset = UUID(uuidString: text) else {
                throw APIError.badRequest("path segment assetId must be a UUID, got \"\(text.prefix(64))\"")
            }
            let query = request.uri.queryParameters
            var limit = 20
            if let raw = query["limit"].map(String.init) {
                guard let value = Int(raw), (1...100).contains(value) else {
                    throw APIError.badRequest("query parameter limit must be an integer from 1 to 100, got \"\(raw.prefix(32))\"")
                }
                limit = value
            }
            var before: Date? = nil
            if let raw = query["before"].map(String.init) {
                guard let value = ISO8601.date(raw), ISO8601.years.contains(value) else {
                    throw APIError.badRequest("query parameter before must be an ISO 8601 timestamp (a page's nextBefore), got \"\(raw.prefix(64))\"")
                }
                before = value
            }
            let document = try await portfolioQuery(
                user, "select api.asset_calculations(\(asset), \(limit)::int, \(before))::text")
            return RawJSON.success(document)
        }

        // POST /api/v1/criteria {"criteria": [rules]}: a new version for the caller; 201 with it.
        router.post("/api/v1/criteria") { request, _ in
            let user = try await caller(request)
            try await writes.admit(user)
            let bytes = try await request.readBody(limit: maxBodyBytes)
            try JSONBody.validate(bytes)
            guard let criteria = try JSONBody.decode(CriteriaBody.self, from: bytes).criteria, criteria != .null else {
                throw APIError.badRequest("field \"criteria\" is required: an array of rules {metric, operator, threshold, points}")
            }
            // The rules go to SQL as the request's own text: their numbers stay exact.
            let body = String(decoding: bytes, as: UTF8.self)
            let document = try await portfolioQuery(user, """
                select jsonb_build_object('id', s.id, 'version', s.version, 'createdAt', s.created_at)::text
                from api.save_criteria(\(body)::jsonb -> 'criteria') s
                """)
            return RawJSON.success(document, status: .created)
        }
    }

    /// One JSON document from SQL under the caller's role, with the pack's errors mapped to statuses.
    private static func query(_ database: PostgresPool, _ caller: Principal, _ query: PostgresQuery) async throws -> String {
        do {
            return try await RequestDatabase(pool: database, principal: caller).query(query)[0].decode(String.self, at: 0)
        } catch let error as PostgresError where error.sqlState == "NSP02" {
            throw APIError.notFound(error.message)
        } catch let error as PostgresError where error.sqlState == "22023" {
            throw APIError.badRequest(error.message, code: "invalid_criteria")
        }
    }
}

/// ISO 8601 timestamps with or without fractional seconds, as PostgreSQL's JSON prints them.
enum ISO8601 {
    /// Years 1 to 9999: what a page's nextBefore can be, and well inside PostgreSQL's range.
    static let years = Date(timeIntervalSince1970: -62_135_596_800)...Date(timeIntervalSince1970: 253_402_300_799)

    static func date(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return withFraction.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }
}
