import OpenAPIKit
import Server

extension ListNotifications {
    var openAPI: EdgeFunctionDescription {
        EdgeFunctionDescription(
            summary: "The caller's in-app notifications, newest first",
            description: "Only the caller's own (the token's `sub`, a UUID).",
            requestBody: .object(properties: [
                "unreadOnly": .boolean(required: false),
                "limit": .integer(required: false, maximum: (Self.maxLimit, exclusive: false), minimum: (1, exclusive: false)),
            ]),
            response: .object(properties: [
                "notifications": .array(items: .object(properties: [
                    "id": APISchemas.uuid(), "title": .string, "message": .string, "metadata": APISchemas.anyJSON(),
                    "read": .boolean, "createdAt": APISchemas.timestamp(),
                ])),
            ]))
    }
}
