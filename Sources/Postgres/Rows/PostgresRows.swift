import CLibPQ

/// The rows of one query result, owning libpq's PGresult (freed with `PQclear` on deinit).
///
/// `@unchecked Sendable` is sound: libpq documents that a PGresult is read-only after creation and
/// may be read from any thread ("Behavior in Threaded Programs"); this class never calls the
/// PGresult-modifying functions (`PQsetvalue`, `PQcopyResult`, ...), and every stored property is
/// an immutable `let` of Sendable values computed in `init`.
public final class PostgresRows: RandomAccessCollection, @unchecked Sendable {
    /// The row index type.
    public typealias Index = Int

    @usableFromInline let result: OpaquePointer
    /// The number of rows.
    public let count: Int
    /// The result's column names, in order.
    public let columnNames: [String]
    /// The result's column type OIDs, in order.
    public let columnTypes: [PostgresDataType]
    /// Rows inserted, updated, deleted, selected, ... as reported by the command tag (0 when none).
    public let affectedRows: Int
    /// The SQL that produced the rows, for error messages.
    @usableFromInline let query: String
    /// Column name to first index, built once per result so named access costs one hash lookup.
    let columnIndex: [String: Int]

    /// Takes ownership of a successful result.
    init(result: OpaquePointer, query: String) {
        self.result = result
        self.query = query
        count = Int(PQntuples(result))
        let columns = Int(PQnfields(result))
        var names: [String] = []
        var types: [PostgresDataType] = []
        var index: [String: Int] = [:]
        names.reserveCapacity(columns)
        types.reserveCapacity(columns)
        for column in 0..<columns {
            let name = String(cString: PQfname(result, Int32(column)))
            names.append(name)
            types.append(PostgresDataType(rawValue: PQftype(result, Int32(column))))
            if index[name] == nil { index[name] = column }
        }
        columnNames = names
        columnTypes = types
        columnIndex = index
        affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    deinit { PQclear(result) }

    /// The index of the column named `name` (the first, if several share it), or a decoding
    /// error listing the names there are: looked up once, it decodes every row by position.
    public func index(ofColumn name: String) throws -> Int {
        guard let index = columnIndex[name] else {
            throw PostgresError(
                kind: .decoding,
                message: "no column named \"\(name)\"; columns are \(columnNames.joined(separator: ", "))",
                query: query
            )
        }
        return index
    }

    /// Always 0.
    @inlinable public var startIndex: Int { 0 }
    /// The row count.
    @inlinable public var endIndex: Int { count }

    /// The row at `position`.
    @inlinable
    public subscript(position: Int) -> PostgresRow {
        precondition(position >= 0 && position < count, "row index \(position) out of range 0..<\(count)")
        return PostgresRow(rows: self, index: position)
    }
}
