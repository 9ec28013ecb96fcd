extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    /// A non-NULL cell decodes as the wrapped type.
    public init(postgresCell cell: PostgresCell) throws {
        self = .some(try Wrapped(postgresCell: cell))
    }

    /// NULL decodes to `nil`.
    public static var postgresNull: Self? { .some(.none) }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    /// Typed as the wrapped type so a NULL still carries its OID.
    public static var postgresType: PostgresDataType { Wrapped.postgresType }

    /// `nil` binds as SQL NULL.
    public func postgresText() throws -> String? {
        switch self {
        case .none: nil
        case .some(let value): try value.postgresText()
        }
    }
}
