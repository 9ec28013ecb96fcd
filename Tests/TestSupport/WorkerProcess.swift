import Foundation

/// A `nightshift worker` child process against a test database.
public final class WorkerProcess {
    public let process = Process()
    let log: URL

    /// The binary is missing: the tests need it built first.
    public struct MissingBinary: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "\(path) is missing: run `make build` (or `swift build --product nightshift`) before the tests" }
    }

    /// `environment` is added to this process's, less its `OTEL_*` variables: whether a child
    /// exports traces is the test's choice, never the shell's that started the tests.
    public init(
        databaseURL: String, name: String, leaseSeconds: Int = 2, config: String? = nil, ticker: Bool = true,
        arguments: [String] = [], environment extra: [String: String] = [:]
    ) throws {
        let binary = TestDatabase.nightshiftBinary
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw MissingBinary(path: binary) }
        log = FileManager.default.temporaryDirectory.appendingPathComponent("nightshift-\(name)-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["worker", "--concurrency", "4", "--lease-seconds", "\(leaseSeconds)"] + (ticker ? [] : ["--no-ticker"]) + arguments
        process.currentDirectoryURL = TestDatabase.projectRoot
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OTEL_") }
        // The worker logs in as in production: nightshift_app, neither superuser nor owner.
        environment["DATABASE_URL"] = TestDatabase.appURL(databaseURL)
        environment.removeValue(forKey: "DATABASE_OWNER_URL")
        environment["NIGHTSHIFT_LOG_LEVEL"] = "info"
        if let config { environment["NIGHTSHIFT_CONFIG"] = config }
        environment.merge(extra) { _, new in new }
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    /// SIGKILL: no drain, no goodbye; its leases simply stop being renewed.
    public func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then wait for the graceful exit.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// SIGTERM, then wait for the graceful exit without blocking a thread of the cooperative pool
    /// (two on this machine): a server in this test process, such as the OTLP receiver, may have
    /// to answer the child before the child can exit.
    public func stopAwaitingExit() async {
        guard process.isRunning else { return }
        process.terminate()
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    }

    public var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: log)
    }
}
