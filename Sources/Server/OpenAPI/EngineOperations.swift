import OpenAPIKit

/// The operations of the routes Server itself serves: health, metrics, the engine's API and
/// this document. Kept beside the handlers' files, not in them; the OpenAPI tests fail on a
/// route added to the router without an operation here.
enum EngineOperations {
    static func all(metrics: Bool) -> [APIOperation] {
        var operations = [health, openAPI, trigger, sendEvent, getRun, listFunctions]
        operations += [listRuns, cancelRun, rerunRun, setFunctionEnabled, listSchedules, listEvents, replayEvent, listDeliveries, retryDelivery, stream]
        if metrics { operations.append(self.metrics) }
        return operations
    }

    static let service = APIAccess.roles([.serviceRole])
    /// The operator routes' readers: `api.*` functions let these read and refuse everyone else (42501 → 403).
    static let readers = APIAccess(roles: ["service_role", Principal.superAdminRole, "operator"])
    /// Who may act (cancel, rerun, enable, replay, retry); an operator gets 403.
    static let actors = APIAccess(roles: ["service_role", Principal.superAdminRole])

    static let health = APIOperation(
        .get, "/health", id: "getHealth", tag: "platform", summary: "Whether the server and its database answer",
        description: "200 when the database answers `select 1` (as anon) within a second; 503 with Retry-After when it does not.",
        access: .open,
        responses: [.data(200, "The server and its database are up", .object(properties: [
            "status": .string(allowedValues: "ok"),
            "project": .string,
            "database": .string(allowedValues: "up"),
            "database_latency_ms": .number(minimum: (0, exclusive: false)),
        ]))])

    static let openAPI = APIOperation(
        .get, "/api/v1/openapi.json", id: "getOpenAPIDocument", tag: "platform", summary: "This OpenAPI 3.1 document",
        description: "Every route the server has, with its schemas and who may call it. Public, built once per process; not in the envelope.",
        access: .open,
        responses: [.raw(200, "The OpenAPI document", .object(properties: ["openapi": .string, "info": .object, "paths": .object]),
                         contentType: .json)])

    static let metrics = APIOperation(
        .get, "/metrics", id: "getMetrics", tag: "platform", summary: "Prometheus metrics",
        description: "The Prometheus text format (runs, queue depth, HTTP); a scraper sends the service-role key as a bearer token.",
        access: service,
        responses: [.raw(200, "Prometheus text exposition format 0.0.4", .string, contentType: .txt)])

    static let functionID = OpenAPI.Parameter.path(
        name: "function_id", schema: .string(minLength: 1),
        description: "A declared function's id. Ids contain slashes (`reports/nightly-refresh`): they are sent as they are, unescaped, between `/functions/` and `/runs`.")

    static let trigger = APIOperation(
        .post, "/api/v1/functions/{function_id}/runs", id: "triggerRun", tag: "engine", summary: "Enqueue a run of a function now",
        description: "202 with the queued run; the same `idempotency_key` returns the existing run. 404 for an unknown or retired function.",
        access: service, parameters: [functionID],
        requestBody: .object(properties: [
            "payload": .object(required: false, description: "The run's input (default `{}`)."),
            "idempotency_key": .string(required: false, maxLength: 255),
        ]),
        responses: [.data(202, "The run is queued", .object(properties: [
            "run_id": APISchemas.uuid(), "status": .string(allowedValues: "queued"),
        ]))],
        errors: [404], isWrite: true)

    static let sendEvent = APIOperation(
        .post, "/api/v1/events", id: "sendEvent", tag: "engine", summary: "Send an event: one run per subscribed function",
        access: service,
        requestBody: .object(properties: [
            "name": .string(minLength: 1, maxLength: 255),
            "data": APISchemas.anyJSON(required: false, description: "The event's data (default `{}`)."),
            "idempotency_key": .string(required: false, maxLength: 255),
        ]),
        requestBodyRequired: true,
        responses: [.data(202, "The event is stored and fanned out", .object(properties: ["event_id": APISchemas.uuid()]))],
        isWrite: true)

    static let getRun = APIOperation(
        .get, "/api/v1/runs/{id}", id: "getRun", tag: "engine", summary: "One run with its steps and attempts",
        access: readers,
        parameters: [.path(name: "id", schema: .string(format: .uuid), description: "The run's id.")],
        responses: [.data(200, "The run", run)],
        errors: [400, 404])

    static let listFunctions = APIOperation(
        .get, "/api/v1/functions", id: "listFunctions", tag: "engine", summary: "Every declared function with its triggers and settings",
        access: readers,
        responses: [.data(200, "The functions, by id", .array(items: function))])

    static let run = JSONSchema.object(title: "Run", properties: [
        "id": APISchemas.uuid(),
        "function_id": .string,
        "status": .string(allowedValues: "queued", "running", "completed", "failed", "cancelled"),
        "payload": APISchemas.anyJSON(),
        "output": APISchemas.anyJSON(required: false, description: "Present once the run completed."),
        "error": APISchemas.anyJSON(required: false, description: "The latest attempt's error."),
        "attempt": .integer,
        "max_attempts": .integer,
        "trigger": .string,
        "cron_slot": APISchemas.timestamp(required: false, nullable: true),
        "correlation_id": APISchemas.uuid(),
        "run_at": APISchemas.timestamp(),
        "created_at": APISchemas.timestamp(),
        "started_at": APISchemas.timestamp(required: false, nullable: true),
        "finished_at": APISchemas.timestamp(required: false, nullable: true),
        "steps": .array(items: .object(properties: [
            "name": .string, "output": APISchemas.anyJSON(), "completed_at": APISchemas.timestamp(nullable: true),
        ])),
        "attempts": .array(items: .object(properties: [
            "attempt": .integer, "worker": .string(nullable: true), "outcome": .string(nullable: true),
            "error": APISchemas.anyJSON(), "started_at": APISchemas.timestamp(nullable: true),
            "finished_at": APISchemas.timestamp(nullable: true),
        ])),
    ])

    static let function = JSONSchema.object(title: "Function", properties: [
        "id": .string,
        "kind": .string(allowedValues: "swift", "sql", "http"),
        "enabled": .boolean,
        "retired": .boolean,
        "max_attempts": .integer,
        "backoff": .object(properties: [
            "base_ms": .integer, "multiplier": .number, "max_ms": .integer, "jitter": .boolean,
        ]),
        "concurrency_limit": APISchemas.anyJSON(description: "The limit, or null for unlimited."),
        "concurrency_key": APISchemas.anyJSON(description: "The payload field the limit is per, or null."),
        "timeout_ms": APISchemas.anyJSON(description: "An attempt's limit in milliseconds, or null."),
        "crash_limit": .integer,
        "events": .array(items: .string),
        "schedule": APISchemas.anyJSON(description: "Null, or {cron, timezone, enabled, catch_up, catch_up_cap, next_slot, last_slot, next_fires (five local times)}."),
    ])

    static func query(_ name: String, _ schema: JSONSchema, _ description: String) -> OpenAPI.Parameter {
        .query(name: name, schema: schema, description: description)
    }

    static let runID = OpenAPI.Parameter.path(name: "id", schema: .string(format: .uuid), description: "The run's id.")
    static let limit = query("limit", .integer(maximum: (200, exclusive: false), minimum: (1, exclusive: false)), "Page size, 1 to 200 (default 50).")
    static let before = query("before", .string, "A page's `next_before` (opaque).")
    static let since = query("since", .string(format: .dateTime), "Created at or after (RFC 3339).")
    static let until = query("until", .string(format: .dateTime), "Created before (RFC 3339).")

    /// A page of `key` items, newest first, with the cursor of the next one.
    static func page(_ key: String, _ item: JSONSchema) -> JSONSchema {
        .object(properties: [key: .array(items: item), "next_before": APISchemas.anyJSON(description: "The next page's cursor, or null on the last page.")])
    }

    static let runSummary = JSONSchema.object(title: "RunSummary", properties: [
        "id": APISchemas.uuid(), "function_id": .string,
        "status": .string(allowedValues: "queued", "running", "completed", "failed", "cancelled"),
        "trigger": .string, "attempt": .integer, "max_attempts": .integer, "created_at": APISchemas.timestamp(),
    ])

    static let listRuns = APIOperation(
        .get, "/api/v1/runs", id: "listRuns", tag: "engine", summary: "Runs, newest first, filtered and paged",
        access: readers,
        parameters: [
            query("function", .string, "Only this function's runs."),
            query("status", .string(allowedValues: "queued", "running", "completed", "failed", "cancelled"), "Only runs in this status."),
            query("trigger", .string, "Only runs with this trigger (cron, event, manual, rerun, …)."),
            since, until, limit, before,
            query("id", .string(format: .uuid), "The run with this id."),
            query("correlation_id", .string(format: .uuid), "The runs sharing this correlation id."),
        ],
        responses: [.data(200, "A page of runs", page("runs", runSummary))])

    static let stream = APIOperation(
        .get, "/api/v1/stream", id: "streamRunEvents", tag: "engine", summary: "Run state changes, live (Server-Sent Events)",
        description: """
            A `text/event-stream` that stays open: `: connected` first, then per run state change (enqueued, claimed, \
            a step checkpointed, completed, failed, cancelled, requeued) `event: run`, `id: <the server's sequence number>`, \
            `data: {"id","function","status","step","at"}` (`step` null unless a step was checkpointed); `event: resync` \
            with `data: {}` when changes may have been missed (refetch); a `: ping` comment every 15 s. \
            A request with a `Last-Event-ID` header (an EventSource reconnecting) gets `event: resync` right after \
            `: connected`: the server keeps no history to replay. \
            401/403/400 come in the JSON envelope before the stream starts.
            """,
        access: readers,
        parameters: [
            query("function", .string, "Only this function's runs."),
            query("run", .string(format: .uuid), "Only this run."),
            query("timeout", .integer(maximum: (3600, exclusive: false), minimum: (1, exclusive: false)),
                  "End the stream after this many seconds (default: never)."),
        ],
        responses: [.raw(200, "The event stream", .string, contentType: .eventStream)],
        errors: [400])

    static let cancelRun = APIOperation(
        .post, "/api/v1/runs/{id}/cancel", id: "cancelRun", tag: "engine", summary: "Cancel a queued or running run",
        description: "409 when the run has finished, its status in `error.status`.",
        access: actors, parameters: [runID],
        responses: [.data(200, "The run is cancelled", .object(properties: [
            "run_id": APISchemas.uuid(), "status": .string(allowedValues: "cancelled"),
        ]))],
        errors: [404, 409], isWrite: true)

    static let rerunRun = APIOperation(
        .post, "/api/v1/runs/{id}/rerun", id: "rerunRun", tag: "engine", summary: "Run a run's function again with its payload",
        access: actors, parameters: [runID],
        responses: [.data(202, "The new run is queued", .object(properties: [
            "run_id": APISchemas.uuid(), "rerun_of": APISchemas.uuid(), "status": .string(allowedValues: "queued"),
        ]))],
        errors: [404], isWrite: true)

    static let setFunctionEnabled = APIOperation(
        .patch, "/api/v1/functions/{function_id}", id: "setFunctionEnabled", tag: "engine", summary: "Enable or disable a function",
        description: "Kept across workers' syncs until changed again.",
        access: actors, parameters: [functionID],
        requestBody: .object(properties: ["enabled": .boolean]),
        requestBodyRequired: true,
        responses: [.data(200, "The function", function)],
        errors: [404], isWrite: true)

    static let listSchedules = APIOperation(
        .get, "/api/v1/schedules", id: "listSchedules", tag: "engine", summary: "Every cron schedule: next and last slot, overdue and skipped slots",
        access: readers,
        responses: [.data(200, "The schedules", .array(items: .object(properties: [
            "function_id": .string, "cron": .string, "timezone": .string,
            "overdue_slots": .integer, "skipped_slots": .integer, "skipped": .array(items: APISchemas.anyJSON()),
        ])))])

    static let eventID = OpenAPI.Parameter.path(name: "id", schema: .string(format: .uuid), description: "The event's id.")
    static let event = JSONSchema.object(title: "Event", properties: [
        "id": APISchemas.uuid(), "name": .string, "data": APISchemas.anyJSON(), "created_at": APISchemas.timestamp(),
        "runs": .array(items: .object(properties: ["id": APISchemas.uuid(), "function_id": .string, "status": .string])),
    ])

    static let listEvents = APIOperation(
        .get, "/api/v1/events", id: "listEvents", tag: "engine", summary: "Events, newest first, with the runs each fanned out to",
        access: readers,
        parameters: [query("name", .string, "Only events with this name."), since, until, limit, before],
        responses: [.data(200, "A page of events", page("events", event))])

    static let replayEvent = APIOperation(
        .post, "/api/v1/events/{id}/replay", id: "replayEvent", tag: "engine", summary: "Send an event again: same name and data",
        access: actors, parameters: [eventID],
        responses: [.data(202, "The new event with its runs", event)],
        errors: [404], isWrite: true)

    static let delivery = JSONSchema.object(title: "Delivery", properties: [
        "id": .integer, "channel": .string, "status": .string(allowedValues: "pending", "delivering", "delivered", "failed"),
        "attempts": .integer, "max_attempts": .integer, "created_at": APISchemas.timestamp(),
    ])

    static let listDeliveries = APIOperation(
        .get, "/api/v1/deliveries", id: "listDeliveries", tag: "engine", summary: "Webhook deliveries, newest first",
        access: readers,
        parameters: [
            query("channel", .string, "Only this channel's."),
            query("status", .string(allowedValues: "pending", "delivering", "delivered", "failed"), "Only deliveries in this status."),
            limit, before,
        ],
        responses: [.data(200, "A page of deliveries", page("deliveries", delivery))])

    static let retryDelivery = APIOperation(
        .post, "/api/v1/deliveries/{id}/retry", id: "retryDelivery", tag: "engine", summary: "Queue a failed delivery again",
        description: "Pending again with 5 more attempts; 409 unless it failed, its status in `error.status`.",
        access: actors,
        parameters: [.path(name: "id", schema: .integer(minimum: (1, exclusive: false)), description: "The delivery's id.")],
        responses: [.data(202, "The delivery, pending again", delivery)],
        errors: [404, 409], isWrite: true)
}
