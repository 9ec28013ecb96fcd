import Config
import Engine
import Migrations
import NightshiftKit
import NightshiftSQL
import Server

/// The coverage pack: the nightly USMLE coverage recompute, the alert it raises, and the super
/// admins' trigger for one institution. The logic is SQL in schema `coverage`; these are the
/// schedule, the steps, the retries and the route.
public struct CoveragePack: Pack {
    public let name = "coverage"

    public init() {}

    /// Schema `coverage`: its files in sql/migrations/coverage/, bundled in NightshiftSQL.
    public func migrations() throws -> MigrationSet? { try NightshiftSQL.migrations(name) }

    /// The console's overview: when each of the pack's jobs last ran and how it ended.
    public var consoleHealth: [any ConsoleHealth] {
        [LastRunsHealth(title: "Coverage", functionIDs: [NightlyRecompute.id, GapAlerts.id])]
    }

    public var configSections: [any ConfigSection.Type] { [CoverageSettings.self] }

    public func functions(_ context: PackContext) throws -> [NightshiftFunction] { Self.jobs }

    /// Both jobs; they read nothing from config (the recompute's schedule is `[jobs."coverage/nightly-recompute"]`).
    public static let jobs: [NightshiftFunction] = [NightlyRecompute.function, GapAlerts.function]

    public var routes: [any APIRoutes] { [RecomputeRoute()] }
}
