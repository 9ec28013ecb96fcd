import Engine

/// Who is calling, from a verified Supabase-style JWT.
public struct Principal: Sendable, Equatable {
    /// The token's `role` claim.
    public enum Role: String, Sendable, Codable, CaseIterable {
        case anon
        case authenticated
        case serviceRole = "service_role"
    }

    public let role: Role
    /// The user id (`sub`), present for `authenticated`.
    public let subject: String?
    /// The application role from `app_metadata.role` (`super_admin`, …), if any.
    public let appRole: String?
    /// The verified claims as JSON, for `request.jwt.claims`.
    public let claimsJSON: String

    public init(role: Role, subject: String? = nil, appRole: String? = nil, claimsJSON: String? = nil) {
        self.role = role
        self.subject = subject
        self.appRole = appRole
        self.claimsJSON = claimsJSON ?? Self.claimsJSON(role: role, subject: subject, appRole: appRole)
    }

    private static func claimsJSON(role: Role, subject: String?, appRole: String?) -> String {
        var claims: [String: JSONValue] = ["role": .string(role.rawValue)]
        if let subject { claims["sub"] = .string(subject) }
        if let appRole { claims["app_metadata"] = .object(["role": .string(appRole)]) }
        return JSONValue.object(claims).jsonText
    }

    /// The application role that may trigger administrative jobs.
    public static let superAdminRole = "super_admin"

    /// Whether the token carries `app_metadata.role = super_admin`.
    public var isSuperAdmin: Bool { appRole == Self.superAdminRole }
}
