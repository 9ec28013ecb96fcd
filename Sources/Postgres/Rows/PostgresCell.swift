/// One non-NULL value of a result, in PostgreSQL's text output format, handed to `PostgresDecodable`.
///
/// The bytes point into libpq's result (or a scratch buffer for array elements) and are valid only
/// during the decode call; decoders parse them in place so decoding allocates nothing but the value.
public struct PostgresCell {
    /// The value's UTF-8 text, without a terminating NUL.
    public let bytes: UnsafeRawBufferPointer
    /// The column's (or array element's) type OID.
    public let type: PostgresDataType

    /// Wraps bytes that stay valid for the duration of a decode.
    public init(bytes: UnsafeRawBufferPointer, type: PostgresDataType) {
        self.bytes = bytes
        self.type = type
    }

    /// The text as a Swift string (one allocation when longer than 15 bytes).
    public var string: String { String(decoding: bytes, as: UTF8.self) }
}
