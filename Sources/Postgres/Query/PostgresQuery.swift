/// A SQL statement whose interpolated values become `$n` bind parameters, never SQL text.
///
/// `"select * from t where id = \(id)"` sends `select * from t where id = $1` plus the bind.
/// Identifiers can only be spliced with the deliberately loud `\(unescaped: "schema.table")`.
public struct PostgresQuery: Sendable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The SQL text with `$n` placeholders.
    public var sql: String
    /// The bind parameters, in `$n` order.
    public var binds: PostgresBindings
    /// Whether a connection prepares it once and reuses the plan (see ``prepared``).
    public private(set) var isPrepared = false

    /// A query whose SQL and binds the caller built; the SQL must not contain untrusted text.
    public init(unsafeSQL sql: String, binds: PostgresBindings = PostgresBindings()) {
        self.sql = sql
        self.binds = binds
    }

    /// A query without parameters.
    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    /// A query built by string interpolation.
    public init(stringInterpolation: StringInterpolation) {
        self.init(unsafeSQL: stringInterpolation.sql, binds: stringInterpolation.binds)
    }

    /// This query, prepared once per connection and run by name after that: parse analysis and
    /// planning of the statement happen once instead of on every call. For hot statements with
    /// a fixed SQL text, outside explicit transactions (inside one, or behind a transaction
    /// pooler, it runs unnamed as usual).
    public var prepared: PostgresQuery {
        var query = self
        query.isPrepared = true
        return query
    }

    /// `query`, prepared once per connection (``prepared``): `database.query(.prepared("select …"))`.
    public static func prepared(_ query: PostgresQuery) -> PostgresQuery {
        query.prepared
    }

    /// The SQL only: binds may hold data that must not reach logs.
    public var description: String { sql }

    /// Turns interpolated values into binds.
    public struct StringInterpolation: StringInterpolationProtocol {
        /// The SQL built so far.
        public private(set) var sql: String
        /// The binds collected so far.
        public private(set) var binds = PostgresBindings()

        /// Reserves room for the literal text.
        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
        }

        /// Appends SQL text from the literal.
        public mutating func appendLiteral(_ literal: String) {
            sql.append(literal)
        }

        /// Appends a value as the next `$n` parameter.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value) {
            binds.append(value)
            sql.append("$\(binds.count)")
        }

        /// Appends an optional value as the next `$n` parameter (NULL when nil); spelled out so the
        /// compiler does not warn about interpolating an Optional.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value?) {
            binds.append(value)
            sql.append("$\(binds.count)")
        }

        /// Splices raw SQL text (an identifier such as `schema.table`); never pass user input.
        public mutating func appendInterpolation(unescaped sqlText: String) {
            sql.append(sqlText)
        }
    }
}
