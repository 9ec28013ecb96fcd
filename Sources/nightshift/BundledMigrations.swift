import Migrations
import NightshiftSQL

/// The migration sets this binary knows, in one place: every command that migrates or reports
/// migrations (migrate, db reset, status) goes through `all()`.
enum BundledMigrations {
    /// The engine's, then each pack's (each pack requires the engine).
    static func all() throws -> [MigrationSet] {
        [
            try NightshiftSQL.engineMigrations(),
            try NightshiftSQL.migrations("dossier"),
            try NightshiftSQL.migrations("coverage"),
            try NightshiftSQL.migrations("portfolio"),
        ]
    }
}
