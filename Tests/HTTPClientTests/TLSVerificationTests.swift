import Foundation
import HTTPClient
import Testing

/// `openssl s_server` with a throw-away self-signed certificate; available wherever ca-certificates is.
private let openssl = "/usr/bin/openssl"

@Suite("TLS verification", .enabled(if: FileManager.default.isExecutableFile(atPath: openssl), "needs \(openssl)"))
struct TLSVerificationTests {
    @Test("A self-signed certificate is rejected by default and accepted only with verifyTLS = false")
    func selfSignedCertificate() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("httpclient-tls-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = directory.appendingPathComponent("key.pem").path
        let cert = directory.appendingPathComponent("cert.pem").path
        let keygen = try start([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", cert, "-subj", "/CN=localhost", "-days", "1",
        ])
        for await _ in keygen.exited {}

        let port = try Loopback.closedPort()
        let server = try start(["s_server", "-accept", "127.0.0.1:\(port)", "-cert", cert, "-key", key, "-www", "-quiet"])
        // SIGKILL: the child inherits the test threads' blocked signal mask, so SIGTERM would not stop it.
        defer { kill(server.process.processIdentifier, SIGKILL) }
        let url = "https://localhost:\(port)/"

        try await withClient { client in
            var insecure = HTTPRequest(url: url)
            insecure.verifyTLS = false
            // The server needs a moment to listen (seconds on a loaded machine); retry the insecure
            // request until it answers.
            var response: HTTPResponse?
            for _ in 0..<300 where response == nil {
                response = try? await client.execute(insecure)
                if response == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(response?.status == 200, "verifyTLS = false talks to a self-signed server")

            let error = try await #require(throws: HTTPClientError.self) {
                try await client.execute(HTTPRequest(url: url))
            }
            #expect(error.kind == .tls, "verification is on by default")
            #expect(!error.isTransient)
        }
    }

    /// Starts openssl; the stream finishes when it exits (awaiting it blocks no thread, unlike `waitUntilExit`).
    private func start(_ arguments: [String]) throws -> (process: Process, exited: AsyncStream<Void>) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let (exited, exit) = AsyncStream.makeStream(of: Void.self)
        process.terminationHandler = { _ in exit.finish() }
        try process.run()
        return (process, exited)
    }
}
