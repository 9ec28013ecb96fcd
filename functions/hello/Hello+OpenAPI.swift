import OpenAPIKit
import Server

extension Hello {
    var openAPI: EdgeFunctionDescription {
        EdgeFunctionDescription(
            summary: "Greet the caller: proves auth, body and database work end to end",
            requestBody: .object(properties: ["name": .string(required: false, maxLength: 200)]),
            response: .object(properties: [
                "message": .string, "role": .string, "database_time": APISchemas.timestamp(),
            ]))
    }
}
