import Config
import Engine
import HTTPClient
import Logging
import Migrations
import Server

/// A workload that plugs into Nightshift: its functions (cron, event and triggered jobs), its
/// edge functions, its API routes, its config table and its migrations. An application lists
/// its packs once, in `NightshiftCLI.main(packs:)`, and every command (`migrate`,
/// `serve`, `worker`, `functions list`, …) sees the same set; the engine, server and config
/// modules never name a pack.
///
/// Every requirement has a default that contributes nothing, so a pack implements only what
/// it has:
///
/// ```swift
/// struct Billing: Pack {
///     let name = "billing"
///     func functions(_ context: PackContext) throws -> [NightshiftFunction] { [CloseMonth.function] }
/// }
/// ```
public protocol Pack: Sendable {
    /// The pack's name: lower case, `[a-z][a-z0-9_-]*`. Its migrations are recorded under it.
    var name: String { get }
    /// The config tables the pack reads (`[billing]`); a table no pack reads is refused.
    var configSections: [any ConfigSection.Type] { get }
    /// The pack's functions, built from the loaded config. Every process of a deployment must
    /// declare the same set: a worker's start-up retires the functions it does not declare.
    func functions(_ context: PackContext) throws -> [NightshiftFunction]
    /// The pack's edge functions, served at `POST /functions/v1/<name>` (each call gets the
    /// config in its `EdgeRequest`).
    var edgeFunctions: [any EdgeFunction] { get }
    /// The pack's own API routes, beside the engine's `/api/v1/…` (they get the API's pool and
    /// authenticator in their `APIRouteContext`).
    var routes: [any APIRoutes] { get }
    /// Figures the console's overview shows for the pack (freshness, last nightly run), read
    /// under the signed-in caller's role.
    var consoleHealth: [any ConsoleHealth] { get }
    /// The pack's migrations: component `name`, requiring `["engine"]` (and any other pack it
    /// builds on), applied after what it requires; nil when the pack has no schema of its own.
    func migrations() throws -> MigrationSet?
}

extension Pack {
    /// No config table of its own.
    public var configSections: [any ConfigSection.Type] { [] }
    /// No functions.
    public func functions(_ context: PackContext) throws -> [NightshiftFunction] { [] }
    /// No edge functions.
    public var edgeFunctions: [any EdgeFunction] { [] }
    /// No routes of its own.
    public var routes: [any APIRoutes] { [] }
    /// No figures on the console's overview.
    public var consoleHealth: [any ConsoleHealth] { [] }
    /// No schema of its own: nothing to migrate.
    public func migrations() throws -> MigrationSet? { nil }
}

/// What a pack's builders get: the loaded config and the process's shared clients.
public struct PackContext: Sendable {
    /// The whole config; a pack reads its own table with `config.section(MySettings.self)`.
    public let config: NightshiftConfig
    /// The process's libcurl client (one connection pool for every outgoing call).
    public let http: HTTPClient
    /// The process's logger (JSON lines once the CLI has set logging up); for start-up messages,
    /// not for runs, which get their own logger with their ids in `RunContext`.
    public let logger: Logger

    /// The CLI builds one per process; tests and tools that build a pack's functions themselves
    /// make their own.
    public init(config: NightshiftConfig, http: HTTPClient, logger: Logger) {
        self.config = config
        self.http = http
        self.logger = logger
    }
}
