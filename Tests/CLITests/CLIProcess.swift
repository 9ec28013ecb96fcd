import Foundation
import TestSupport

/// One run of the `nightshift` binary, as a user would type it, from the project's root.
struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String

    /// Standard output parsed as the JSON array `--output json` prints.
    func jsonArray() throws -> [[String: Any]] {
        guard let array = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [[String: Any]] else {
            throw CLIError("not a JSON array of objects: \(stdout)")
        }
        return array
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `nightshift arguments…` with `DATABASE_URL` (the app login) and `DATABASE_OWNER_URL`
/// (the owner) on `databaseURL` when given, standard input empty (not a terminal), and waits
/// without blocking a thread of the cooperative pool.
func nightshift(
    _ arguments: [String], databaseURL: String? = nil, environment extra: [String: String] = [:],
    directory: URL = TestDatabase.projectRoot
) async throws -> CLIResult {
    let binary = TestDatabase.nightshiftBinary
    guard FileManager.default.isExecutableFile(atPath: binary) else { throw CLIError("\(binary) is missing: run `make build` (or `swift build --product nightshift`) before the tests") }
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nightshift-cli-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let out = folder.appendingPathComponent("stdout"), err = folder.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)

    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OTEL_") }
    environment.removeValue(forKey: "DATABASE_OWNER_URL")
    environment.removeValue(forKey: "NIGHTSHIFT_CONFIG")
    environment["NIGHTSHIFT_LOG_LEVEL"] = "error"
    if let databaseURL {
        environment["DATABASE_URL"] = TestDatabase.appURL(databaseURL)
        environment["DATABASE_OWNER_URL"] = databaseURL
    }
    environment.merge(extra) { _, new in new }
    process.environment = environment
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    let deadline = ContinuousClock.now + .seconds(120)
    while process.isRunning {
        if ContinuousClock.now > deadline {
            process.terminate()
            throw CLIError("nightshift \(arguments.joined(separator: " ")) did not finish in 120 s")
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    return CLIResult(
        status: process.terminationStatus,
        stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}
