import Postgres

/// The database as one API request may use it. Every query runs in its own transaction under
/// the caller's database role, with the verified claims in `request.jwt.claims` (as PostgREST
/// does), so row-level security and the `api` functions decide what the caller sees and
/// changes; a slip in a handler cannot reach past them.
public struct RequestDatabase: PostgresQuerying {
    /// The database role a request runs as, from the token's role claim.
    public enum Role: String, Sendable {
        /// `nightshift_anon`: a caller with the anon key, or none (a `verify_jwt = false` function).
        case anon = "nightshift_anon"
        /// `nightshift_authenticated`: a signed-in user; row-level security narrows it to their rows by `sub`.
        case authenticated = "nightshift_authenticated"
        /// `nightshift_service`: the service-role key, trusted server-side code.
        case service = "nightshift_service"

        init(_ role: Principal.Role?) {
            switch role {
            case .authenticated: self = .authenticated
            case .serviceRole: self = .service
            case .anon, nil: self = .anon
            }
        }
    }

    let pool: PostgresPool
    /// The role every statement of this request runs as.
    public let role: Role
    let claimsJSON: String

    /// Access for `principal`; nil (a function with `verify_jwt = false` called without a
    /// token) runs as anon with no claims.
    public init(pool: PostgresPool, principal: Principal?) {
        self.pool = pool
        self.role = Role(principal?.role)
        self.claimsJSON = principal?.claimsJSON ?? "{}"
    }

    /// Runs `query` alone in its own transaction under the caller's role and claims; throws the
    /// `PostgresError` the statement raised (a refused grant is SQLSTATE 42501).
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await transaction { connection in try connection.query(query) }
    }

    /// Runs `body` in one transaction under the caller's role, for a request that needs several
    /// statements to see one snapshot or to commit together.
    public func transaction<Result: Sendable>(
        _ body: @Sendable (isolated PostgresConnection) throws -> Result
    ) async throws -> Result {
        let role = role.rawValue
        let claims = claimsJSON
        return try await pool.withTransaction { connection in
            // set_config(…, true) is SET LOCAL: both end with the transaction, so a pooled
            // connection never carries one caller's role or claims into the next request.
            _ = try connection.query("select set_config('role', \(role), true), set_config('request.jwt.claims', \(claims), true)")
            return try body(connection)
        }
    }
}
