/// The bind parameters of a query, already encoded to text with their type OIDs.
public struct PostgresBindings: Sendable, Hashable {
    /// Each parameter's type OID, in `$n` order.
    public private(set) var types: [PostgresDataType] = []
    /// Each parameter's text, or nil for NULL.
    public private(set) var values: [String?] = []
    /// The first encoding failure; thrown when the query runs, because interpolation cannot throw.
    /// The first value that could not be encoded, and the SQLSTATE the server would have given it.
    private(set) var encodingFailure: EncodingFailure?

    struct EncodingFailure: Hashable, Sendable {
        let message: String
        let sqlState: String?
    }

    /// An empty bind list.
    public init() {}

    /// The number of parameters.
    public var count: Int { values.count }

    /// Appends a value as the next `$n`.
    public mutating func append<Value: PostgresEncodable>(_ value: Value) {
        do {
            append(text: try value.postgresText(), type: Value.postgresType)
        } catch {
            if encodingFailure == nil {
                let detail = (error as? PostgresError).map(\.message) ?? "\(error)"
                encodingFailure = EncodingFailure(message: "cannot encode parameter $\(count + 1) (\(Value.self)): \(detail)", sqlState: (error as? PostgresError)?.sqlState)
            }
            append(text: nil, type: Value.postgresType)
        }
    }

    /// Appends already-encoded text (nil for NULL) with an explicit type, for types without a conformance.
    public mutating func append(text: String?, type: PostgresDataType) {
        types.append(type)
        values.append(text)
    }
}
