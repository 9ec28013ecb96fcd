/// A Swift value that can be decoded from a column in PostgreSQL's text output format.
public protocol PostgresDecodable {
    /// Decodes a non-NULL value; the cell's bytes are only valid during the call.
    init(postgresCell cell: PostgresCell) throws

    /// The value SQL NULL decodes to, or nil when NULL is an error for this type.
    static var postgresNull: Self? { get }
}

extension PostgresDecodable {
    /// Non-optional types reject NULL.
    public static var postgresNull: Self? { nil }
}

/// Why a single cell could not be decoded; `PostgresRow` wraps it into a `PostgresError` naming the column.
@usableFromInline
struct PostgresDecodingFailure: Error {
    /// A short reason, without the cell's value (values may be sensitive).
    @usableFromInline let reason: String

    init(_ reason: String) { self.reason = reason }
}
