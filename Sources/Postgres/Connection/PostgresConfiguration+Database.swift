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
