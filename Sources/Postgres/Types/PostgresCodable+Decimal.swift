import Foundation

extension Decimal: PostgresEncodable, PostgresDecodable {
    /// Binds as `numeric`.
    public static var postgresType: PostgresDataType { .numeric }

    /// Plain digits (Foundation never uses exponent notation for Decimal), or `NaN`.
    public func postgresText() -> String? { isNaN ? "NaN" : description }

    /// Decodes numeric text exactly, never through Double; throws when the value needs more than
    /// Decimal's 38 significant digits or its exponent range. Decode as `String` to keep every digit.
    public init(postgresCell cell: PostgresCell) throws {
        self = try DecimalText.parse(cell.bytes)
    }
}
