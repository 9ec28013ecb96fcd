import Migrations
import NightshiftSQL

/// The migration sets this binary knows, in one place: every command that migrates or reports
/// migrations (migrate, db reset, status) goes through `all()`.
enum BundledMigrations {
    /// The engine's, then each component bundled in NightshiftSQL (each requires the engine).
    ///
    /// For now the SQL this repository bundles, whatever packs the application handed
    /// `NightshiftCLI.main`; it becomes the engine's plus each installed pack's own set.
    static func all() throws -> [MigrationSet] {
        try NightshiftSQL.components.map { component in
            component == "engine" ? try NightshiftSQL.engineMigrations() : try NightshiftSQL.migrations(component)
        }
    }
}
