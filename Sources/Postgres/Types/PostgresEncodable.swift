/// A Swift value that can be sent as a text-format bind parameter.
public protocol PostgresEncodable {
    /// The OID sent with the parameter so the server does not have to guess.
    static var postgresType: PostgresDataType { get }

    /// The value in PostgreSQL's text input format, or nil for SQL NULL.
    func postgresText() throws -> String?
}
