import Foundation

/// A Codable value carried as JSON: binds as `jsonb` when `Value: Encodable`, decodes from
/// `json`/`jsonb` when `Value: Decodable`. Foundation's default JSON coders, except that UUIDs
/// are written lower-case (``LowercaseUUIDJSONEncoder``).
public struct PostgresJSON<Value> {
    /// The wrapped value.
    public var value: Value

    /// Wraps a value.
    public init(_ value: Value) { self.value = value }
}

extension PostgresJSON: Sendable where Value: Sendable {}

extension PostgresJSON: PostgresEncodable where Value: Encodable {
    /// Binds as `jsonb`.
    public static var postgresType: PostgresDataType { .jsonb }

    /// The JSON text; a failure surfaces as a `PostgresError` of kind `.encoding` when the query runs.
    public func postgresText() throws -> String? {
        String(decoding: try LowercaseUUIDJSONEncoder().encode(value), as: UTF8.self)
    }
}

extension PostgresJSON: PostgresDecodable where Value: Decodable {
    /// Decodes the column's JSON text with `JSONDecoder`.
    public init(postgresCell cell: PostgresCell) throws {
        // Data copies the bytes once: JSONDecoder needs owned storage.
        value = try JSONDecoder().decode(Value.self, from: Data(cell.bytes))
    }
}
