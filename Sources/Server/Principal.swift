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

    public init(role: Role, subject: String? = nil, appRole: String? = nil) {
        self.role = role
        self.subject = subject
        self.appRole = appRole
    }

    /// The application role that may trigger administrative jobs.
    public static let superAdminRole = "super_admin"

    /// Whether the token carries `app_metadata.role = super_admin`.
    public var isSuperAdmin: Bool { appRole == Self.superAdminRole }
}
