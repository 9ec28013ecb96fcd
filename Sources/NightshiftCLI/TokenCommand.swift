import ArgumentParser
import Foundation
import JWTKit
import Server

/// Prints a token signed with the project's JWT secret, as Supabase's dashboard hands them out:
/// for curl, scripts and the demo (a user, a super admin, the service role).
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print a JWT signed with the project's secret.",
        discussion: "nightshift token --role authenticated --sub <user uuid> [--app-role super_admin] [--expires-in 3600]")

    @OptionGroup var options: GlobalOptions

    @Option(help: "The token's role.")
    var role: Role = .authenticated

    /// The roles a token may carry (`--role` completes and validates these).
    enum Role: String, ExpressibleByArgument, CaseIterable {
        case anon, authenticated
        case serviceRole = "service_role"
    }

    @Option(help: "The user id (the sub claim); required for authenticated.")
    var sub: String?

    @Option(help: "app_metadata.role, e.g. super_admin.")
    var appRole: String?

    @Option(help: "Seconds until it expires.")
    var expiresIn: Int = 3600

    func run() async throws {
        let role = role.rawValue
        if role == Principal.Role.authenticated.rawValue, (sub ?? "").isEmpty {
            throw ValidationError("--sub is required for an authenticated token")
        }
        guard expiresIn > 0 else { throw ValidationError("--expires-in must be positive") }
        let config = try options.loadConfig()
        guard !config.auth.usesJWKS else {
            throw ValidationError("auth.jwks_path is set: tokens are signed where its private keys are, not by nightshift")
        }
        let authenticator = await Authenticator(secret: config.auth.jwtSecret)
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        // A user token carries the configured issuer and audience, so that it passes the checks
        // this server applies to user tokens.
        let user = role == Principal.Role.authenticated.rawValue
        let claims = AuthClaims(
            role: role, sub: sub, exp: ExpirationClaim(value: now.addingTimeInterval(Double(expiresIn))),
            iss: user ? config.auth.issuer ?? config.projectID : config.projectID, appRole: appRole,
            aud: user ? config.auth.audience.map { [$0] } : nil, iat: now)
        print(try await authenticator.sign(claims))
    }
}
