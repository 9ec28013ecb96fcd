import Hummingbird
import Logging
import ServiceLifecycle

/// A deterministic rate and price provider on loopback, for tests and the demo (never the
/// product's code path): `GET /latest?base=` in the Frankfurter format and `GET /prices?symbols=`
/// in the documented format, with request counters and failure switches in `controls`.
///
/// ```swift
/// let stub = try await ProviderStub.start()
/// defer { ... await stub.stop() }
/// stub.controls.failNext(2, on: .rates)      // two 503s, then rates again
/// // ProviderSettings(ratesURL: stub.baseURL, pricesURL: stub.baseURL)
/// ```
public final class ProviderStub: Sendable {
    /// `http://HOST:PORT`, no trailing slash.
    public let baseURL: String
    /// The port it listens on.
    public let port: Int
    /// Counters and failure switches.
    public let controls: StubControls
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(baseURL: String, port: Int, controls: StubControls, group: ServiceGroup, task: Task<Void, any Error>) {
        self.baseURL = baseURL
        self.port = port
        self.controls = controls
        self.group = group
        self.task = task
    }

    /// Starts a stub on `host` (default 127.0.0.1) and `port` (default 0: a free one), and
    /// returns once it accepts connections.
    public static func start(host: String = "127.0.0.1", port: Int = 0, controls: StubControls = StubControls()) async throws -> ProviderStub {
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = application(host: host, port: port, controls: controls) { portSink.yield($0) }
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: quietLogger))
        let task = Task {
            defer { portSink.finish() }
            try await group.run()
        }
        var bound: Int?
        for await value in ports {
            bound = value
            break
        }
        guard let bound else {
            // The server stopped before listening: its error says why (the port is taken, say).
            try await task.value
            throw CancellationError()
        }
        return ProviderStub(baseURL: url(host: host, port: bound), port: bound, controls: controls, group: group, task: task)
    }

    /// Stops accepting, lets requests in flight finish, and returns when the server has stopped.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }

    /// Serves on `host`:`port` until SIGTERM or SIGINT; `onListening` gets the base URL once it listens.
    public static func serve(
        host: String, port: Int, controls: StubControls = StubControls(), logger: Logger = quietLogger,
        onListening: @escaping @Sendable (String) -> Void
    ) async throws {
        let app = application(host: host, port: port, controls: controls, logger: logger) { onListening(url(host: host, port: $0)) }
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }

    static func application(
        host: String, port: Int, controls: StubControls, logger: Logger = quietLogger, onPort: @escaping @Sendable (Int) -> Void
    ) -> some ApplicationProtocol {
        Application(
            router: StubRouter.make(controls),
            configuration: .init(address: .hostname(host, port: port), serverName: "portfolio-provider-stub"),
            onServerRunning: { channel in onPort(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    static func url(host: String, port: Int) -> String {
        "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    /// Warnings only: a test run should not print a line per request.
    public static let quietLogger: Logger = {
        var logger = Logger(label: "portfolio-provider-stub")
        logger.logLevel = .warning
        return logger
    }()
}
