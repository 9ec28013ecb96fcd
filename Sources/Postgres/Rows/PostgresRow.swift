import CLibPQ

/// One row of a `PostgresRows`; decode its columns by index or name.
public struct PostgresRow: Sendable {
    /// The result this row belongs to (kept alive by this reference).
    public let rows: PostgresRows
    /// The row's index in `rows`.
    public let index: Int

    /// Wraps a row index of a result.
    @inlinable
    init(rows: PostgresRows, index: Int) {
        self.rows = rows
        self.index = index
    }

    /// The number of columns.
    public var columnCount: Int { rows.columnTypes.count }

    /// Decodes the column at `column` (0-based); NULL only decodes into an Optional.
    @inlinable
    public func decode<Value: PostgresDecodable>(_ type: Value.Type = Value.self, at column: Int) throws -> Value {
        // Inlinable so callers get a copy specialised for `Value`: generic dispatch and metadata
        // lookups would otherwise dominate a million-row decode.
        guard column >= 0, column < rows.columnTypes.count else { throw columnOutOfRange(column) }
        let result = rows.result
        let row = Int32(truncatingIfNeeded: index)
        let field = Int32(truncatingIfNeeded: column)
        if PQgetisnull(result, row, field) != 0 {
            if let null = Value.postgresNull { return null }
            throw failure(column, "is NULL; decode \(Value.self)? to accept NULL", as: Value.self)
        }
        let bytes = UnsafeRawBufferPointer(
            start: PQgetvalue(result, row, field),
            count: Int(PQgetlength(result, row, field))
        )
        do {
            return try Value(postgresCell: PostgresCell(bytes: bytes, type: rows.columnTypes[column]))
        } catch {
            throw failure(column, error, as: Value.self)
        }
    }

    /// Decodes the column named `column` (the first one, if several share the name).
    @inlinable
    public func decode<Value: PostgresDecodable>(_ type: Value.Type = Value.self, column: String) throws -> Value {
        try decode(type, at: columnIndex(column))
    }

    /// Whether the column is SQL NULL.
    public func isNull(at column: Int) -> Bool {
        column >= 0 && column < columnCount && PQgetisnull(rows.result, Int32(index), Int32(column)) != 0
    }

    /// The index of a column name, or a decoding error listing the names there are.
    @usableFromInline
    func columnIndex(_ name: String) throws -> Int {
        try rows.index(ofColumn: name)
    }

    @usableFromInline
    func columnOutOfRange(_ column: Int) -> PostgresError {
        PostgresError(
            kind: .decoding,
            message: "column index \(column) out of range (\(rows.columnTypes.count) columns)",
            query: rows.query
        )
    }

    @usableFromInline
    func failure<Value>(_ column: Int, _ error: any Error, as type: Value.Type) -> PostgresError {
        let reason = (error as? PostgresDecodingFailure)?.reason ?? "\(error)"
        return failure(column, reason, as: type)
    }

    @usableFromInline
    func failure<Value>(_ column: Int, _ reason: String, as type: Value.Type) -> PostgresError {
        PostgresError(
            kind: .decoding,
            message: "cannot decode column \"\(rows.columnNames[column])\" (index \(column), \(rows.columnTypes[column]))"
                + " of row \(index) as \(Value.self): \(reason)",
            query: rows.query
        )
    }
}
