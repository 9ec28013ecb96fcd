import Foundation
import HTTPClient
import TestSupport

/// The Python receiver of Tests/Webhooks/verifying_receiver.py: it checks each webhook with
/// PyPI's `standardwebhooks` (the spec's reference library, not our signer) and answers 204 when
/// the signature verifies, 401 with the library's reason when not. One process per test.
final class VerifyingReceiver {
    /// One POST as the receiver saw it, with the library's verdict.
    struct Received: Decodable, Sendable {
        let path: String
        /// Lower-case names.
        let headers: [String: String]
        let body: String
        let verified: Bool
        let error: String?
    }

    /// The verifier's interpreter is missing: the venv is built by a make target, not by the tests.
    struct MissingVerifier: Error, CustomStringConvertible {
        let python: String
        var description: String {
            "\(python) is missing: run `make webhook-verifier` (a venv with PyPI's standardwebhooks) or set WEBHOOK_VERIFIER_PYTHON"
        }
    }

    struct StartFailed: Error, CustomStringConvertible {
        let log: String
        var description: String { "the verifying receiver did not start: \(log)" }
    }

    static var python: String {
        ProcessInfo.processInfo.environment["WEBHOOK_VERIFIER_PYTHON"]
            ?? TestDatabase.projectRoot.appendingPathComponent(".venv-webhooks/bin/python").path
    }

    private let process = Process()
    /// Its standard input: the receiver exits when this closes, also if the test process dies.
    private let input = Pipe()
    private let log: URL
    let port: Int

    /// Starts a receiver that verifies with `secret`; the first `failFirst` verified requests get 503.
    init(secret: String, failFirst: Int = 0) async throws {
        let python = Self.python
        guard FileManager.default.isExecutableFile(atPath: python) else { throw MissingVerifier(python: python) }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("verifying-receiver-\(UUID().uuidString.prefix(8))")
        let portFile = scratch.appendingPathExtension("port")
        log = scratch.appendingPathExtension("log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            TestDatabase.projectRoot.appendingPathComponent("Tests/Webhooks/verifying_receiver.py").path,
            "--secret", secret, "--port-file", portFile.path, "--fail-first", "\(failFirst)",
        ]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        defer { try? FileManager.default.removeItem(at: portFile) }
        // Polled rather than read from a pipe: a blocking read would hold one of the two
        // cooperative threads this machine has while Python starts.
        let deadline = ContinuousClock.now + .seconds(15)
        while true {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) {
                self.port = port
                return
            }
            guard process.isRunning, ContinuousClock.now < deadline else {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                Self.stop(process, input: input)
                try? FileManager.default.removeItem(at: log)
                throw StartFailed(log: text.isEmpty ? "no output" : text)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// `http://127.0.0.1:PORT/hooks/NAME`.
    func url(_ name: String = "hook") -> String {
        "http://127.0.0.1:\(port)/hooks/\(name)"
    }

    /// Every POST so far, in order.
    func received() async throws -> [Received] {
        try await withHTTPClient { try await $0.execute(HTTPRequest(url: "http://127.0.0.1:\(port)/received")).decode(as: [Received].self) }
    }

    /// POSTs `body` with `headers` as a forger or a replayer would; the receiver's status and reason.
    func post(body: [UInt8], headers: [String: String]) async throws -> (status: Int, error: String?) {
        var request = HTTPRequest(method: .post, url: url("replayed"), body: body)
        for (name, value) in headers { request.headers.add(name, value) }
        request.throwOnErrorStatus = false
        let response = try await withHTTPClient { try await $0.execute(request) }
        struct Reason: Decodable { let error: String }
        return (response.status, try? response.decode(as: Reason.self).error)
    }

    private static func stop(_ process: Process, input: Pipe) {
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    deinit {
        Self.stop(process, input: input)
        try? FileManager.default.removeItem(at: log)
    }
}

/// Runs `body` with a fresh client, shutting it down whatever happened.
private func withHTTPClient<T: Sendable>(_ body: (HTTPClient) async throws -> T) async throws -> T {
    let client = HTTPClient()
    let result: Result<T, any Error>
    do { result = .success(try await body(client)) } catch { result = .failure(error) }
    await client.shutdown()
    return try result.get()
}
