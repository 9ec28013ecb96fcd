import Foundation

/// An element type that can be bound inside a PostgreSQL array (`[String]` as `text[]`, and so on).
public protocol PostgresArrayElement: PostgresEncodable {
    /// The OID of the array type whose elements are `Self`.
    static var postgresArrayType: PostgresDataType { get }
}

extension String: PostgresArrayElement {
    /// `text[]`.
    public static var postgresArrayType: PostgresDataType { .textArray }
}

extension UUID: PostgresArrayElement {
    /// `uuid[]`.
    public static var postgresArrayType: PostgresDataType { .uuidArray }
}

extension Int: PostgresArrayElement {
    /// `int8[]`.
    public static var postgresArrayType: PostgresDataType { .int8Array }
}

extension Int64: PostgresArrayElement {
    /// `int8[]`.
    public static var postgresArrayType: PostgresDataType { .int8Array }
}

extension Int32: PostgresArrayElement {
    /// `int4[]`.
    public static var postgresArrayType: PostgresDataType { .int4Array }
}

extension Bool: PostgresArrayElement {
    /// `bool[]`.
    public static var postgresArrayType: PostgresDataType { .boolArray }
}

extension Double: PostgresArrayElement {
    /// `float8[]`.
    public static var postgresArrayType: PostgresDataType { .float8Array }
}

extension Decimal: PostgresArrayElement {
    /// `numeric[]`.
    public static var postgresArrayType: PostgresDataType { .numericArray }
}

extension Optional: PostgresArrayElement where Wrapped: PostgresArrayElement {
    /// The wrapped element's array type; `nil` elements become NULL.
    public static var postgresArrayType: PostgresDataType { Wrapped.postgresArrayType }
}
