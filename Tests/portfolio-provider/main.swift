import ArgumentParser
import Foundation
import PortfolioProviderStub

/// The deterministic market-data provider for `make demo`: `GET /latest?base=` and
/// `GET /prices?symbols=` on loopback until SIGTERM or SIGINT. Not part of the product.
struct PortfolioProvider: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portfolio-provider",
        abstract: "Serve deterministic exchange rates (Frankfurter format) and prices for the portfolio demo.")

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: a free one).")
    var port = 8090

    @Flag(help: "Start with the rate endpoint answering 503 (the provider is down).")
    var ratesDown = false

    @Option(help: "Answer every request after this many milliseconds.")
    var delayMs = 0

    func run() async throws {
        try await serve()
    }

    /// Serves until SIGTERM or SIGINT.
    func serve() async throws {
        let controls = StubControls()
        controls.ratesDown = ratesDown
        controls.delay = .milliseconds(delayMs)
        try await ProviderStub.serve(host: host, port: port, controls: controls) { url in
            // Unbuffered, so a script reading the pipe sees the line at once.
            FileHandle.standardOutput.write(Data("portfolio-provider listening on \(url)\n".utf8))
        }
    }
}

// Parsed and run by hand: in main.swift, `main()` and `run()` resolve to ParsableCommand's
// synchronous defaults (which refuse an asynchronous command, or print the help).
do {
    try await PortfolioProvider.parse().serve()
} catch {
    PortfolioProvider.exit(withError: error)
}
