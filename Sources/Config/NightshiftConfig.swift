/// Everything Nightshift reads from `supabase-like-config/config.toml` and the environment.
public struct NightshiftConfig: Sendable, Equatable {
    /// `project_id` (`NIGHTSHIFT_PROJECT_ID`; default `nightshift`): the `iss` of the project keys and
    /// service tokens this deployment signs, and the `project` that `/health` reports.
    public var projectID: String
    /// `[db]`: the database URLs, pool size and timeouts.
    public var database: DatabaseSettings
    /// `[api]`: where the HTTP server listens and its request limits.
    public var api: APISettings
    /// `[auth]`: how tokens are verified, and the project keys.
    public var auth: AuthSettings
    /// `[scheduler]`: whether cron fires, and retention of finished runs.
    public var scheduler: SchedulerSettings
    /// Per-job overrides, keyed by function id (`reports/nightly-refresh`).
    public var jobs: [String: JobSettings]
    /// Per-edge-function settings, keyed by function name (`hello`).
    public var functions: [String: FunctionSettings]
    /// Jobs declared in config (`[functions."<id>"]` with `sql` or `http`), keyed by function id.
    public var declaredJobs: [String: DeclaredJob] = [:]
    /// `[notifications]`: the per-user daily cap and the webhook channels.
    public var notifications: NotificationSettings
    /// `[observability]`: where traces are exported, if anywhere.
    public var observability: ObservabilitySettings
    /// The packs' own tables (`[billing]`), by name: every ``ConfigSection`` type the config was
    /// loaded with, read from the file or defaulted. Read one with ``section(_:)``.
    public var sections: [String: any ConfigSection] = [:]
    /// The file this was read from.
    public var source: String

    public static func == (lhs: NightshiftConfig, rhs: NightshiftConfig) -> Bool {
        lhs.projectID == rhs.projectID && lhs.database == rhs.database && lhs.api == rhs.api && lhs.auth == rhs.auth
            && lhs.scheduler == rhs.scheduler && lhs.jobs == rhs.jobs && lhs.functions == rhs.functions
            && lhs.declaredJobs == rhs.declaredJobs && lhs.notifications == rhs.notifications
            && lhs.observability == rhs.observability && lhs.source == rhs.source
            && lhs.sections.keys.sorted() == rhs.sections.keys.sorted()
            && lhs.sections.allSatisfy { name, section in rhs.sections[name].map(section.isEqual(to:)) ?? false }
    }

    /// Settings of one edge function; a function absent from the config verifies JWTs.
    public func functionSettings(_ name: String) -> FunctionSettings {
        functions[name] ?? FunctionSettings()
    }
}

/// `[db]`: where the database is, and how long its connections may wait or work.
public struct DatabaseSettings: Sendable, Equatable {
    /// What the server and the workers log in as: `nightshift_app`, never the owner.
    public var url: String
    /// What `nightshift migrate` logs in as: the owner of every object (nil: `url`).
    public var ownerURL: String?
    /// The embedded PostgreSQL's port (`port`, default 54329); `NIGHTSHIFT_DB_PORT` also rewrites
    /// the port of both URLs, so one variable moves a whole deployment.
    public var port: Int
    /// Connections per pool (`pool_size`, default 8, 1…1000; `NIGHTSHIFT_DB_POOL_SIZE`). The API
    /// and the engine each have a pool of this size, so a flood of requests cannot starve the workers.
    public var poolSize: Int
    /// Longest statement of an API request (the server's own connections).
    public var apiStatementTimeout: Duration = .seconds(30)
    /// Longest statement of the engine's connections (workers, ticker, dispatcher): a backstop;
    /// a function's own `timeout` cancels its statements sooner.
    public var workerStatementTimeout: Duration = .seconds(15 * 60)
    /// Longest a transaction may sit idle before the server ends its session.
    public var idleInTransactionTimeout: Duration = .seconds(60)
    /// Pooled connections unused this long are closed (down to `minIdle`).
    public var idleTimeout: Duration = .seconds(60)
    /// Connections each pool keeps open and idle.
    public var minIdle: Int = 1
    /// Whether the engine's hot statements are prepared once per connection (`prepared_statements`,
    /// default true; `NIGHTSHIFT_DB_PREPARED_STATEMENTS`). Off, nothing is prepared: for a pooler
    /// in transaction mode whose server log must stay free of the one 26000 ERROR per connection
    /// that tells Nightshift to stop preparing there.
    public var preparedStatements = true

    /// The login migrations run as.
    public var migrationURL: String { ownerURL ?? url }
}

/// `[api]`: the HTTP server.
public struct APISettings: Sendable, Equatable {
    /// The address to listen on (`host`, default `127.0.0.1`; `NIGHTSHIFT_API_HOST`). Anything
    /// but loopback requires real keys (``isLoopback``).
    public var host: String
    /// The port (`port`, default 54321; `NIGHTSHIFT_API_PORT`); 0 lets the system choose one.
    public var port: Int
    /// The largest request body in bytes (`max_body_bytes`, default 1 MiB); a larger one gets 413.
    public var maxBodyBytes: Int
    /// A keep-alive connection idle this long is closed.
    public var idleTimeout: Duration = .seconds(60)
    /// Longest a request may take, body and handler included; past it the answer is 503.
    public var requestTimeout: Duration = .seconds(30)
    /// Largest request header block (every field together), and largest single field.
    public var maxHeaderBytes: Int = 16_384
    /// Writes (triggers, events, criteria, recalculations) one token may make per minute; 0: no limit.
    public var writesPerMinute: Int = 120

    /// Whether the API listens on loopback only (127.0.0.0/8, ::1, localhost): reachable from
    /// this machine alone, where development defaults are tolerated.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}

/// `[scheduler]`: whether cron triggers fire at all, and the engine's housekeeping (written to
/// `nightshift.settings` at start-up, so pg_cron's ticks follow it too; nil keeps the database's).
public struct SchedulerSettings: Sendable, Equatable {
    /// Whether cron schedules fire (`enabled`, default true; `ENABLE_SCHEDULED_JOBS`). False
    /// stops every cron trigger of this deployment; events and explicit triggers still run.
    public var enabled: Bool
    /// How long finished runs, events and skipped-slot records are kept.
    public var retention: Duration? = nil
    /// How often `tick()` prunes them.
    public var pruneEvery: Duration? = nil
    /// How long queued runs of a retired function wait before `tick()` fails them.
    public var retiredGrace: Duration? = nil
}

/// `[jobs."<id>"]`: what config may override on a declared job.
public struct JobSettings: Sendable, Equatable {
    /// Replaces the function's cron expression (and gives one to a function declared without).
    public var cron: String?
    /// Replaces the IANA zone its cron expression is evaluated in.
    public var timezone: String?
    /// Disables (false) or re-enables the function's cron and event triggers.
    public var enabled: Bool?
    /// Retries after the first attempt (0…100), replacing the declared number.
    public var retries: Int?
    /// At most this many runs at once, across every process (1 makes the job a singleton).
    public var maxConcurrency: Int?

    /// Overrides for one job; nil keeps what the function declares.
    public init(cron: String? = nil, timezone: String? = nil, enabled: Bool? = nil, retries: Int? = nil, maxConcurrency: Int? = nil) {
        self.cron = cron
        self.timezone = timezone
        self.enabled = enabled
        self.retries = retries
        self.maxConcurrency = maxConcurrency
    }
}

/// `[functions.<name>]`: per edge function.
public struct FunctionSettings: Sendable, Equatable {
    /// Whether a call needs a valid token (`verify_jwt`, default true). False lets callers without
    /// a token in, as role anon: for webhooks that authenticate themselves.
    public var verifyJWT: Bool

    /// Settings of an edge function; JWTs are verified unless told otherwise.
    public init(verifyJWT: Bool = true) {
        self.verifyJWT = verifyJWT
    }
}

/// `[notifications]`: the daily cap, the time zone of its day and the delivery channels.
public struct NotificationSettings: Sendable, Equatable {
    /// Notifications one user may receive per day (`daily_cap_per_user`, default 10;
    /// `NIGHTSHIFT_NOTIFICATIONS_DAILY_CAP`, 0…100,000); sends past it are kept in
    /// `notify.suppressed`, not delivered, until a digest carries them. `Notifier.configure`
    /// writes it to the database.
    public var dailyCapPerUser: Int
    /// The webhook channels by name (`[notifications.channels.<name>]`).
    public var channels: [String: ChannelSettings]
    /// The time zone of the cap's day when a sender names none (`cap_timezone`, an IANA name,
    /// default `UTC`; `NIGHTSHIFT_NOTIFICATIONS_CAP_TIMEZONE`). A pack whose users live in one
    /// zone passes its own to `notify.send` instead.
    public var capTimeZone: String = "UTC"
}

/// `[notifications.channels.<name>]`: a webhook the dispatcher posts to.
public struct ChannelSettings: Sendable, Equatable {
    /// The URL each delivery is POSTed to (`webhook_url`, required, http or https).
    public var webhookURL: String
    /// Signs each request per Standard Webhooks (`webhook_secret`, or the environment's
    /// `NIGHTSHIFT_WEBHOOK_SECRET_<NAME>`); nil sends unsigned, which only a loopback URL may.
    public var webhookSecret: WebhookSecret? = nil
}

/// `[observability]`: where traces are exported.
public struct ObservabilitySettings: Sendable, Equatable {
    /// The OTLP/HTTP collector's base URL (`http://127.0.0.1:4318`); traces go to `<it>/v1/traces`.
    /// `nil`: no exporter, and spans go to the no-op tracer.
    public var otlpEndpoint: String?

    /// Traces to `otlpEndpoint`, or nowhere (the default).
    public init(otlpEndpoint: String? = nil) {
        self.otlpEndpoint = otlpEndpoint
    }
}
