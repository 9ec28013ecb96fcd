import OpenAPIKit
import Server

extension MarkNotificationRead {
    var openAPI: EdgeFunctionDescription {
        EdgeFunctionDescription(
            summary: "Mark one of the caller's notifications read",
            description: "Another user's notification is answered like a missing one (404), so ids cannot be probed.",
            requestBody: .object(properties: ["notificationId": APISchemas.uuid()]),
            response: .object(properties: ["notificationId": APISchemas.uuid(), "read": .boolean]),
            errors: [404])
    }
}
