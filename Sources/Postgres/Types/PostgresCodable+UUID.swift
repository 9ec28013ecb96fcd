import Foundation

extension UUID: PostgresEncodable, PostgresDecodable {
    /// Binds as `uuid`.
    public static var postgresType: PostgresDataType { .uuid }

    /// The canonical lowercase spelling PostgreSQL also prints.
    public func postgresText() -> String? { lowercasedString }

    /// Decodes the 36-character form `8-4-4-4-12` without building an intermediate string.
    public init(postgresCell cell: PostgresCell) throws {
        guard let uuid = UUIDText.parse(cell.bytes) else { throw PostgresDecodingFailure("not a uuid") }
        self = uuid
    }
}
