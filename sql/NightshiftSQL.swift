import Foundation
import Migrations

/// The SQL that ships inside the package: `sql/migrations/<component>/NNNN_area_what.sql`, copied
/// into the target's resource bundle, so a binary migrates from wherever it runs.
///
/// The bundle (`nightshift_NightshiftSQL.resources`) sits next to the built executable; a binary
/// copied elsewhere needs that folder beside it.
public enum NightshiftSQL {
    /// The components bundled here, the engine first.
    public static let components = ["engine", "dossier", "coverage", "portfolio"]

    /// The engine's migrations (schemas nightshift, notify, cache, auth, api).
    public static func engineMigrations() throws -> MigrationSet {
        try migrations("engine", requires: [])
    }

    /// A bundled component's migrations ("engine", "dossier", "coverage", "portfolio").
    public static func migrations(_ component: String, requires: [String] = ["engine"]) throws -> MigrationSet {
        guard components.contains(component) else {
            throw MigrationError(
                component: component, file: "",
                problem: "is not a component bundled in NightshiftSQL (bundled: \(components.joined(separator: ", ")))")
        }
        guard let folder = Bundle.module.url(forResource: "migrations", withExtension: nil) else {
            throw MigrationError(component: component, file: "", problem: "the migrations folder is missing from the NightshiftSQL bundle")
        }
        return try MigrationSet.load(component: component, requires: requires, from: folder.appendingPathComponent(component))
    }
}
