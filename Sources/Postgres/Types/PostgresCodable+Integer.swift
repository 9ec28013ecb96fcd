extension Int: PostgresEncodable, PostgresDecodable {
    /// Binds as `int8`: Swift's Int is 64-bit on every supported platform.
    public static var postgresType: PostgresDataType { .int8 }

    /// Decimal digits.
    public func postgresText() -> String? { String(self) }

    /// Decodes any integer column (int2, int4, int8, or an integral numeric).
    public init(postgresCell cell: PostgresCell) throws { self = try TextParsing.integer(cell.bytes) }
}

extension Int64: PostgresEncodable, PostgresDecodable {
    /// Binds as `int8`.
    public static var postgresType: PostgresDataType { .int8 }

    /// Decimal digits.
    public func postgresText() -> String? { String(self) }

    /// Decodes any integer column that fits.
    public init(postgresCell cell: PostgresCell) throws { self = try TextParsing.integer(cell.bytes) }
}

extension Int32: PostgresEncodable, PostgresDecodable {
    /// Binds as `int4`.
    public static var postgresType: PostgresDataType { .int4 }

    /// Decimal digits.
    public func postgresText() -> String? { String(self) }

    /// Decodes any integer column that fits, else throws.
    public init(postgresCell cell: PostgresCell) throws { self = try TextParsing.integer(cell.bytes) }
}

extension Int16: PostgresEncodable, PostgresDecodable {
    /// Binds as `int2`.
    public static var postgresType: PostgresDataType { .int2 }

    /// Decimal digits.
    public func postgresText() -> String? { String(self) }

    /// Decodes any integer column that fits, else throws.
    public init(postgresCell cell: PostgresCell) throws { self = try TextParsing.integer(cell.bytes) }
}
