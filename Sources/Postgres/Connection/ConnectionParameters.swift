import CLibPQ
import Foundation

/// Turns a `PostgresConfiguration` into libpq keyword/value arrays and opens connections with them.
enum ConnectionParameters {
    /// TCP keepalives so a silently dead peer (network cut, VM gone) is noticed in about 40 s instead of
    /// the OS default of hours; a blocked query or the idle listener would otherwise hang that long.
    static let keepaliveDefaults = [
        ("keepalives", "1"), ("keepalives_idle", "20"), ("keepalives_interval", "5"), ("keepalives_count", "4"),
    ]

    /// Keyword/value pairs for `PQconnectdbParams` with `expand_dbname`: entries before `dbname`
    /// are defaults the URL may override; entries after it win over the URL.
    static func keywords(for configuration: PostgresConfiguration) throws -> [(String, String)] {
        let parsed = try parse(configuration.url)
        var options = PostgresConfiguration.startupOptions + configuration.timeoutOptions
        // Keep the URL's own `options` (e.g. a search_path) but make ours win by coming last.
        if let existing = parsed["options"], !existing.isEmpty { options = existing + " " + options }
        return [("connect_timeout", String(configuration.connectTimeoutSeconds))] + keepaliveDefaults + [
            ("dbname", configuration.url),
            ("application_name", configuration.applicationName),
            ("options", options),
        ]
    }

    /// Opens a blocking connection; call it only on a dedicated thread. Returns an open connection or throws.
    static func connect(_ configuration: PostgresConfiguration) throws -> LibPQConnection {
        let pairs = try keywords(for: configuration)
        let handle = withCStrings(pairs.map(\.0)) { keys in
            withCStrings(pairs.map(\.1)) { values in
                PQconnectdbParams(keys, values, 1)
            }
        }
        guard let handle else {
            throw PostgresError(kind: .connection, message: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let error = PostgresError.connection(handle)
            PQfinish(handle)
            throw error
        }
        return LibPQConnection(handle, preparesStatements: configuration.preparesStatements)
    }

    /// The URL's or conninfo's parameters, as libpq reads them.
    static func parse(_ url: String) throws -> [String: String] {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &errorMessage) else {
            let message = errorMessage.map { String(cString: $0).trimmedWhitespace } ?? "invalid connection string"
            if let errorMessage { PQfreemem(errorMessage) }
            throw PostgresError(kind: .configuration, message: "invalid connection string: " + message)
        }
        defer { PQconninfoFree(options) }
        var result: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { result[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        return result
    }

    /// Renders parameters as a `postgresql://` URL that libpq parses back to the same parameters.
    static func renderURL(_ parameters: [String: String]) -> String {
        var components = URLComponents()
        components.scheme = "postgresql"
        var rest = parameters
        // A socket directory, IPv6 address or host list only round-trips as a query parameter.
        if let host = rest["host"], !host.contains(where: { "/:,[]".contains($0) }) {
            components.host = rest.removeValue(forKey: "host")
            components.port = rest.removeValue(forKey: "port").flatMap { Int($0) }
        }
        components.user = rest.removeValue(forKey: "user")
        components.password = rest.removeValue(forKey: "password")
        components.path = "/" + (rest.removeValue(forKey: "dbname") ?? "")
        if !rest.isEmpty {
            // Encoded by hand: only unreserved characters stay literal, so `&`, `=` and `+` in values survive.
            let unreserved = CharacterSet(
                charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"
            )
            components.percentEncodedQuery = rest.sorted { $0.key < $1.key }.map { key, value in
                key + "=" + (value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value)
            }.joined(separator: "&")
        }
        return components.string ?? ""
    }

    /// A NULL-terminated array of C strings, valid during `body`.
    private static func withCStrings<Result>(
        _ strings: [String],
        _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> Result
    ) -> Result {
        let duplicates = strings.map { strdup($0) }
        defer { for duplicate in duplicates { free(duplicate) } }
        let pointers = duplicates.map { UnsafePointer($0) } + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
