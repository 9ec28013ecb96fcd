import OpenAPIKit

/// Schemas every description uses, as OpenAPIKit values.
public enum APISchemas {
    /// A UUID string (ids of runs, events, users, rows).
    public static func uuid(required: Bool = true, description: String? = nil) -> JSONSchema {
        .string(format: .uuid, required: required, description: description)
    }

    /// An ISO 8601 timestamp, as the API writes dates.
    public static func timestamp(required: Bool = true, nullable: Bool = false, description: String? = nil) -> JSONSchema {
        .string(format: .dateTime, required: required, nullable: nullable, description: description)
    }

    /// Any JSON value (a payload, a step's output).
    public static func anyJSON(required: Bool = true, description: String? = nil) -> JSONSchema {
        .fragment(required: required, description: description)
    }

    /// A JSON object whose keys the server does not constrain.
    public static func anyObject(required: Bool = true, description: String? = nil) -> JSONSchema {
        .object(required: required, description: description)
    }

    /// A non-negative integer.
    public static func count(required: Bool = true, description: String? = nil) -> JSONSchema {
        .integer(required: required, description: description, minimum: (0, exclusive: false))
    }

    /// A decimal written as a JSON number or, where exactness matters, as a string.
    public static func decimal(required: Bool = true, nullable: Bool = false, description: String? = nil) -> JSONSchema {
        .any(of: [.number, .string, nullable ? .null() : nil].compactMap { $0 }, core: .init(required: required, description: description))
    }
}
