extension PostgresError {
    /// The broad category of a `PostgresError`; a struct rather than an enum so new kinds do not break callers.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        /// The kind's name, as printed.
        public let description: String

        private init(_ name: String) { self.description = name }

        /// Could not connect, or the connection broke during use.
        public static let connection = Kind("connection")
        /// The server rejected a statement (see `sqlState`).
        public static let server = Kind("server")
        /// A column value could not be decoded into the requested Swift type.
        public static let decoding = Kind("decoding")
        /// A Swift value could not be encoded as a bind parameter.
        public static let encoding = Kind("encoding")
        /// The server ended a statement or session on a timeout: `statement_timeout` or a cancel
        /// (57014), `lock_timeout` (55P03), `idle_in_transaction_session_timeout` (25P03).
        public static let timeout = Kind("timeout")
        /// The pool had no free connection within its acquire timeout.
        public static let poolTimeout = Kind("poolTimeout")
        /// The pool was closed before or while waiting for a connection.
        public static let poolClosed = Kind("poolClosed")
        /// The connection was closed by the caller before this use.
        public static let closed = Kind("closed")
        /// The connection URL or settings are invalid; retrying will not help.
        public static let configuration = Kind("configuration")
        /// The API was used in a way that cannot work (for example a nested `withTransaction`).
        public static let misuse = Kind("misuse")
    }
}
