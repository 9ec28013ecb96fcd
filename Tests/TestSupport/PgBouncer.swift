import Foundation

/// Debian's PgBouncer in front of the test cluster, on a free loopback port, for as long as a test
/// needs it: every database of the cluster behind it, logins trusted as on the cluster itself.
public final class PgBouncer {
    public enum PoolMode: String, Sendable {
        case session, transaction
    }

    /// PgBouncer is not installed: `make setup` installs it.
    public struct Missing: Error, CustomStringConvertible {
        public var description: String { "pgbouncer is not installed (Debian's pgbouncer): run `make setup`" }
    }

    /// It did not accept connections in time.
    public struct DidNotStart: Error, CustomStringConvertible {
        public let output: String
        public var description: String { "pgbouncer did not start: \(output)" }
    }

    private let process = Process()
    private let directory: URL
    private let output: URL
    /// `upstreamURL` with PgBouncer's host and port.
    public let url: String

    /// Starts PgBouncer in `mode` in front of the cluster of `upstreamURL` and waits until it
    /// accepts connections; on `port` when given (a client already told to use it), else a free one.
    public init(upstream upstreamURL: String, mode: PoolMode, port requestedPort: Int? = nil) async throws {
        guard let binary = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw Missing()
        }
        guard var components = URLComponents(string: upstreamURL), let upstreamHost = components.host else {
            throw DidNotStart(output: "cannot read the upstream URL")
        }
        let upstreamPort = components.port ?? 5432
        let port = try requestedPort ?? freeLoopbackPort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgbouncer-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        output = directory.appendingPathComponent("pgbouncer.log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        // trust still needs every login listed; the tests log in as the owner or as nightshift_app.
        try #""postgres" ""\#n"nightshift_app" ""\#n"#.write(to: directory.appendingPathComponent("users.txt"), atomically: true, encoding: .utf8)
        try """
            [databases]
            * = host=\(upstreamHost) port=\(upstreamPort)

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = \(port)
            unix_socket_dir =
            auth_type = trust
            auth_file = \(directory.appendingPathComponent("users.txt").path)
            pool_mode = \(mode.rawValue)
            default_pool_size = 20
            ignore_startup_parameters = extra_float_digits,options
            """.write(to: directory.appendingPathComponent("pgbouncer.ini"), atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: binary)
        // As root, PgBouncer refuses to run unless told which user to become.
        process.arguments = (geteuid() == 0 ? ["-u", "postgres"] : []) + [directory.appendingPathComponent("pgbouncer.ini").path]
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        components.host = "127.0.0.1"
        components.port = port
        url = components.string ?? upstreamURL
        try process.run()
        let deadline = ContinuousClock.now + .seconds(10)
        while !Self.accepts(port: port) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                stop()
                throw DidNotStart(output: (try? String(contentsOf: output, encoding: .utf8)) ?? "")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Starts PgBouncer, runs `body` with its URL for the database of `upstreamURL`, stops it.
    public static func with<T>(
        upstream upstreamURL: String, mode: PoolMode, isolation: isolated (any Actor)? = #isolation,
        _ body: (String) async throws -> T
    ) async throws -> T {
        let bouncer = try await PgBouncer(upstream: upstreamURL, mode: mode)
        defer { bouncer.stop() }
        return try await body(bouncer.url)
    }

    /// SIGKILL and wait (PgBouncer keeps nothing to shut down cleanly for); removes its files.
    public func stop() {
        if process.isRunning {
            // Not SIGTERM: the child inherits the test process's signal mask (the spawning thread
            // may block SIGTERM), and PgBouncer 1.18 does not unblock it.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    private static func accepts(port: Int) -> Bool {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
