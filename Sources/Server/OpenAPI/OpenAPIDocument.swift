import Config
import Foundation
import OpenAPIKit

extension NightshiftServer {
    /// The OpenAPI 3.1 document of the router ``makeRouter(config:database:functions:routes:health:authenticator:metrics:runEvents:)``
    /// builds from the same arguments: the engine's operations, one per edge function, and those
    /// the routes describe.
    public static func openAPIDocument(
        config: NightshiftConfig, functions: [any EdgeFunction], routes: [any APIRoutes] = [], metrics: Bool = false
    ) -> OpenAPI.Document {
        let operations = EngineOperations.all(metrics: metrics)
            + functions.sorted { $0.name < $1.name }.map { $0.operation(config: config) }
            + routes.flatMap(\.operations)
        return OpenAPIDocumentBuilder.document(operations, projectID: config.projectID)
    }

    /// The document as the server sends it: JSON with sorted keys.
    public static func openAPIJSON(_ document: OpenAPI.Document) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(document)
    }
}

/// Turns operations into the document: the envelope, the error shape and the security schemes
/// in components, referenced from every operation.
enum OpenAPIDocumentBuilder {
    static let bearer = "bearer"
    static let apiKey = "apikey"

    /// The error answers, each the error envelope; every operation references the ones it can give.
    static let errorResponses: [Int: (name: String, description: String)] = [
        400: ("BadRequest", "The request is malformed or fails validation (`bad_request`, `invalid_json`, `invalid_body`, `invalid_input`)"),
        401: ("Unauthorized", "No token where one is required, or one that does not verify (`unauthorized`)"),
        403: ("Forbidden", "The caller's role may not do this (`forbidden`)"),
        404: ("NotFound", "No such function, run or row; under row-level security also a row the caller may not see (`not_found`)"),
        409: ("Conflict", "The request clashes with the current state (`conflict`)"),
        413: ("PayloadTooLarge", "The body is over `[api] max_body_bytes` (`payload_too_large`)"),
        429: ("TooManyRequests", "Over `[api] writes_per_minute` for this caller (`rate_limited`), with Retry-After"),
        503: ("ServiceUnavailable", "The request timed out or no database connection was free (`timeout`, `unavailable`), with Retry-After"),
    ]

    static func document(_ operations: [APIOperation], projectID: String) -> OpenAPI.Document {
        var paths = OpenAPI.PathItem.Map()
        for operation in operations.sorted(by: { ($0.path, $0.method.rawValue) < ($1.path, $1.method.rawValue) }) {
            let path = OpenAPI.Path(rawValue: operation.path)
            var item = paths[path].flatMap { $0.b } ?? OpenAPI.PathItem()
            item.set(operation: self.operation(operation), for: OpenAPI.HttpMethod(rawValue: operation.method.rawValue) ?? .get)
            paths[path] = .b(item)
        }
        let tags = Array(Set(operations.map(\.tag))).sorted().map { OpenAPI.Tag(name: $0) }
        return OpenAPI.Document(
            openAPIVersion: .v3_1_1,
            info: .init(
                title: "Nightshift API",
                description: """
                    Project `\(projectID)`. Every answer but this document and `/metrics` is the envelope \
                    `{"data": ..., "error": null}` or `{"data": null, "error": {"code", "message", ...}}`. \
                    Some edge functions also write their answer's fields at the top level, beside `data` \
                    and `error` (their success answers say so). \
                    Send a token as `Authorization: Bearer <jwt>` or in the `apikey` header; \
                    `x-nightshift-roles` on each operation lists who may call it.
                    """,
                version: "1"),
            servers: [],
            paths: paths,
            components: components,
            tags: tags)
    }

    static var components: OpenAPI.Components {
        var responses = OpenAPI.ComponentReferenceDictionary<OpenAPI.Response>()
        for (_, entry) in errorResponses.sorted(by: { $0.key < $1.key }) {
            responses[componentKey(entry.name)] = .b(OpenAPI.Response(
                description: entry.description,
                content: [.json: .b(OpenAPI.Content(schemaReference: .component(named: "ErrorEnvelope")))]))
        }
        return OpenAPI.Components(
            schemas: [
                "Error": .object(
                    title: "Error", description: "What went wrong: a stable `code` to branch on, a `message` for a person, and any further facts (e.g. `job_id`) as more string fields.",
                    properties: ["code": .string, "message": .string],
                    additionalProperties: .b(.string)),
                "ErrorEnvelope": .object(
                    title: "ErrorEnvelope", description: "The envelope of every error answer.",
                    properties: ["data": .null(), "error": .reference(.component(named: "Error"))],
                    additionalProperties: .a(false)),
            ],
            responses: responses,
            securitySchemes: [
                componentKey(bearer): .b(.http(
                    scheme: "bearer", bearerFormat: "JWT",
                    description: "A Supabase-style JWT (HS256 with the project secret, or ES256/RS256 from `[auth] jwks_path`): the anon or service-role key, or a user's token.")),
                componentKey(apiKey): .b(.apiKey(
                    name: "apikey", location: .header,
                    description: "The same token in the `apikey` header, read when there is no Authorization header.")),
            ])
    }

    static func componentKey(_ name: String) -> OpenAPI.ComponentKey {
        OpenAPI.ComponentKey(rawValue: name)!
    }

    static func operation(_ operation: APIOperation) -> OpenAPI.Operation {
        let access = operation.access
        var statuses = Set(operation.errors).union([503])
        if !access.roles.isEmpty { statuses.formUnion([401, 403]) }
        if operation.requestBody != nil { statuses.formUnion([400, 413]) }
        if !operation.parameters.isEmpty { statuses.insert(400) }
        if operation.isWrite { statuses.insert(429) }

        var responses = OpenAPI.Response.Map()
        for success in operation.responses {
            let schema: JSONSchema
            if !success.enveloped {
                schema = success.schema
            } else if success.fieldsAtTopLevel {
                // The answer's own fields and the envelope's side by side: both schemas hold.
                schema = .all(
                    of: [success.schema, .object(properties: ["data": success.schema, "error": .null()])],
                    core: .init(description: "The answer's fields at the top level, and the same object in `data` with `error: null`."))
            } else {
                schema = .object(properties: ["data": success.schema, "error": .null()], additionalProperties: .a(false))
            }
            responses[.status(code: success.status)] = .b(OpenAPI.Response(
                description: success.description, content: [success.contentType: .b(OpenAPI.Content(schema: schema))]))
        }
        for status in statuses.sorted() {
            guard let entry = errorResponses[status] else { continue }
            responses[.status(code: status)] = .a(.component(named: entry.name))
        }

        var security: [OpenAPI.SecurityRequirement]? = nil
        if !access.roles.isEmpty {
            let tokens: [OpenAPI.SecurityRequirement] = [[.component(named: bearer): []], [.component(named: apiKey): []]]
            security = access.requiresToken ? tokens : [[:]] + tokens
        }
        var text = [operation.description].compactMap { $0 }
        if access.roles.isEmpty {
            text.append("No token needed.")
        } else {
            text.append("Roles: \(access.roles.joined(separator: ", "))\(access.requiresToken ? "" : "; a call without a token is served too").")
        }
        if let note = access.note { text.append(note) }
        if operation.isWrite { text.append("Counts against `[api] writes_per_minute`.") }

        return OpenAPI.Operation(
            tags: [operation.tag],
            summary: operation.summary,
            description: text.joined(separator: " "),
            operationId: operation.operationID,
            parameters: operation.parameters.map { .b($0) },
            requestBody: operation.requestBody.map {
                OpenAPI.Request(content: [.json: .b(OpenAPI.Content(schema: $0))], required: operation.requestBodyRequired)
            },
            responses: responses,
            security: security,
            vendorExtensions: ["x-nightshift-roles": AnyCodable(access.roles), "x-nightshift-write": AnyCodable(operation.isWrite)])
    }
}
