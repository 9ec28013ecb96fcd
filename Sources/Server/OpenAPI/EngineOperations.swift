import OpenAPIKit

/// The operations of the routes Server itself serves: health, metrics, the engine's API and
/// this document. Kept beside the handlers' files, not in them; the OpenAPI tests fail on a
/// route added to the router without an operation here.
enum EngineOperations {
    static func all(metrics: Bool) -> [APIOperation] {
        var operations = [health, openAPI, trigger, sendEvent, getRun, listFunctions]
        if metrics { operations.append(self.metrics) }
        return operations
    }

    static let service = APIAccess.roles([.serviceRole])

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
        access: service,
        parameters: [.path(name: "id", schema: .string(format: .uuid), description: "The run's id.")],
        responses: [.data(200, "The run", run)],
        errors: [400, 404])

    static let listFunctions = APIOperation(
        .get, "/api/v1/functions", id: "listFunctions", tag: "engine", summary: "Every declared function with its triggers and settings",
        access: service,
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
        "cron_slot": APISchemas.timestamp(required: false),
        "correlation_id": APISchemas.uuid(),
        "run_at": APISchemas.timestamp(),
        "created_at": APISchemas.timestamp(),
        "started_at": APISchemas.timestamp(required: false),
        "finished_at": APISchemas.timestamp(required: false),
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
        "enabled": .boolean,
        "retired": .boolean,
        "max_attempts": .integer,
        "backoff": .object(properties: [
            "base_ms": .integer, "multiplier": .number, "max_ms": .integer, "jitter": .boolean,
        ]),
        "concurrency_limit": .integer(required: false),
        "concurrency_key": .string(required: false),
        "timeout_ms": .integer(required: false),
        "crash_limit": .integer,
        "events": .array(items: .string),
        "schedule": .object(required: false, properties: [
            "cron": .string, "timezone": .string, "enabled": .boolean,
            "catch_up": .string(allowedValues: "skip", "latest", "all"), "next_slot": APISchemas.timestamp(),
        ]),
    ])
}
