extension PostgresConfiguration {
    /// The same server and credentials with another database, as a `postgresql://` URL
    /// (used to open freshly created databases, e.g. in tests).
    public func replacingDatabase(with database: String) throws -> PostgresConfiguration {
        var parameters = try ConnectionParameters.parse(url)
        parameters["dbname"] = database
        var copy = self
        copy.url = ConnectionParameters.renderURL(parameters)
        return copy
    }
}

extension PostgresConfiguration {
    /// The URL's parameters as libpq reads them (`host`, `port`, `dbname`, `user`, …), for
    /// commands that must know which server and database a URL names before connecting.
    public func parameters() throws -> [String: String] {
        try ConnectionParameters.parse(url)
    }
}
