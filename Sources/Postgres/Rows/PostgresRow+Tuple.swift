extension PostgresRow {
    // Fixed arities rather than a parameter pack: packs are not specialised across modules, and the
    // generic metadata lookups they cost made tuple decoding several times slower per row.

    /// Decodes the first 2 columns in order: `let (id, name) = try row.decode(Int.self, String?.self)`.
    @inlinable
    public func decode<
        A: PostgresDecodable,
        B: PostgresDecodable
    >(_ t0: A.Type, _ t1: B.Type) throws -> (A, B) {
        try (decode(t0, at: 0), decode(t1, at: 1))
    }

    /// Decodes the first 3 columns in order.
    @inlinable
    public func decode<
        A: PostgresDecodable,
        B: PostgresDecodable,
        C: PostgresDecodable
    >(_ t0: A.Type, _ t1: B.Type, _ t2: C.Type) throws -> (A, B, C) {
        try (decode(t0, at: 0), decode(t1, at: 1), decode(t2, at: 2))
    }

    /// Decodes the first 4 columns in order.
    @inlinable
    public func decode<
        A: PostgresDecodable,
        B: PostgresDecodable,
        C: PostgresDecodable,
        D: PostgresDecodable
    >(_ t0: A.Type, _ t1: B.Type, _ t2: C.Type, _ t3: D.Type) throws -> (A, B, C, D) {
        try (decode(t0, at: 0), decode(t1, at: 1), decode(t2, at: 2), decode(t3, at: 3))
    }

    /// Decodes the first 5 columns in order.
    @inlinable
    public func decode<
        A: PostgresDecodable,
        B: PostgresDecodable,
        C: PostgresDecodable,
        D: PostgresDecodable,
        E: PostgresDecodable
    >(_ t0: A.Type, _ t1: B.Type, _ t2: C.Type, _ t3: D.Type, _ t4: E.Type) throws -> (A, B, C, D, E) {
        try (decode(t0, at: 0), decode(t1, at: 1), decode(t2, at: 2), decode(t3, at: 3), decode(t4, at: 4))
    }

    /// Decodes the first 6 columns in order.
    @inlinable
    public func decode<
        A: PostgresDecodable,
        B: PostgresDecodable,
        C: PostgresDecodable,
        D: PostgresDecodable,
        E: PostgresDecodable,
        F: PostgresDecodable
    >(_ t0: A.Type, _ t1: B.Type, _ t2: C.Type, _ t3: D.Type, _ t4: E.Type, _ t5: F.Type) throws -> (A, B, C, D, E, F) {
        try (decode(t0, at: 0), decode(t1, at: 1), decode(t2, at: 2), decode(t3, at: 3), decode(t4, at: 4), decode(t5, at: 5))
    }

    /// Decodes a json/jsonb column into any Decodable.
    public func decodeJSON<Value: Decodable>(_ type: Value.Type, at column: Int) throws -> Value {
        try decode(PostgresJSON<Value>.self, at: column).value
    }

    /// Decodes a json/jsonb column, by name, into any Decodable.
    public func decodeJSON<Value: Decodable>(_ type: Value.Type, column: String) throws -> Value {
        try decode(PostgresJSON<Value>.self, column: column).value
    }
}
