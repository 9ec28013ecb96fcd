import Foundation

/// Who is calling, from a verified Supabase-style JWT.
public struct Principal: Sendable, Equatable {
    /// The token's `role` claim.
    public enum Role: String, Sendable, Codable, CaseIterable {
        /// A token with role `anon`: the anon key that public clients ship with.
        case anon
        /// A signed-in user's token (with a `sub`).
        case authenticated
        /// The service-role key or a service token: trusted server-side code.
        case serviceRole = "service_role"
    }

    /// The verified token's role; what the SQL runs as (``RequestDatabase/Role``).
    public let role: Role
    /// The user id (`sub`), present for `authenticated`.
    public let subject: String?
    /// The application role from `app_metadata.role` (`super_admin`, …), if any.
    public let appRole: String?
    /// The verified token's payload, exactly as signed (the base64url-decoded middle segment):
    /// what `set_config('request.jwt.claims', …)` hands to SQL, as PostgREST does.
    public let claimsJSON: String

    /// `claimsJSON` nil builds `{"role", "sub", "app_metadata": {"role"}}` from the other
    /// arguments, for principals that come from no token (tests, internal callers).
    public init(role: Role, subject: String? = nil, appRole: String? = nil, claimsJSON: String? = nil) {
        self.role = role
        self.subject = subject
        self.appRole = appRole
        self.claimsJSON = claimsJSON ?? Self.claimsJSON(role: role, subject: subject, appRole: appRole)
    }

    /// The application role that may trigger administrative jobs.
    public static let superAdminRole = "super_admin"

    /// A signed-in user (role `authenticated` with a `sub`) whose `app_metadata.role` is
    /// `super_admin`. The anon and service keys are shared by every client and script, so the
    /// claim on them names no person and grants nothing.
    public var isSuperAdmin: Bool {
        role == .authenticated && !(subject ?? "").isEmpty && appRole == Self.superAdminRole
    }

    private static func claimsJSON(role: Role, subject: String?, appRole: String?) -> String {
        struct Claims: Encodable {
            struct AppMetadata: Encodable { let role: String }
            let role: String
            let sub: String?
            let appMetadata: AppMetadata?
            enum CodingKeys: String, CodingKey {
                case role, sub
                case appMetadata = "app_metadata"
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let claims = Claims(role: role.rawValue, sub: subject, appMetadata: appRole.map(Claims.AppMetadata.init(role:)))
        // Strings, and an optional object of strings, always encode.
        return String(decoding: try! encoder.encode(claims), as: UTF8.self)
    }
}
