extension Double: PostgresEncodable, PostgresDecodable {
    /// Binds as `float8`.
    public static var postgresType: PostgresDataType { .float8 }

    /// Swift's shortest round-trip digits; NaN and the infinities in PostgreSQL's spelling.
    public func postgresText() -> String? {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return description
    }

    /// Decodes float8/float4 (also NaN and ±Infinity) and any numeric text.
    public init(postgresCell cell: PostgresCell) throws { self = try TextParsing.double(cell.bytes) }
}

extension Float: PostgresEncodable, PostgresDecodable {
    /// Binds as `float4`.
    public static var postgresType: PostgresDataType { .float4 }

    /// Swift's shortest round-trip digits; NaN and the infinities in PostgreSQL's spelling.
    public func postgresText() -> String? {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return description
    }

    /// Decodes float4 (parsed as a double, then narrowed).
    public init(postgresCell cell: PostgresCell) throws { self = Float(try TextParsing.double(cell.bytes)) }
}
