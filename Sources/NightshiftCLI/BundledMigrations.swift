import Migrations
import NightshiftSQL

/// The migration sets this binary knows, in one place: every command that migrates or reports
/// migrations (migrate, db reset, status) goes through `all()`.
enum BundledMigrations {
    /// The engine's, then each installed pack's (`Pack.migrations()`, in the order the application
    /// listed its packs; `MigrationSet.ordered` puts each after what it requires). A pack's set
    /// is recorded under the pack's name, so a set named otherwise is refused.
    static func all() throws -> [MigrationSet] {
        var sets = [try NightshiftSQL.engineMigrations()]
        for pack in Composition.current.packs {
            guard let set = try pack.migrations() else { continue }
            guard set.component == pack.name else {
                throw MigrationError(
                    component: set.component, file: "",
                    problem: "is the migration set of pack \(pack.name): a pack's migrations are named after it")
            }
            sets.append(set)
        }
        return sets
    }
}
