import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import Engine

/// The lines a logger wrote, with their metadata as strings.
final class CapturedLines: Sendable {
    struct Line: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
    }

    private let lines = Mutex<[Line]>([])

    var all: [Line] { lines.withLock { $0 } }

    /// A logger at `level` writing here, with `metadata` on every line (as a worker's handler has).
    func logger(level: Logger.Level = .info, metadata: Logger.Metadata = [:]) -> Logger {
        Logger(label: "run-logging-tests") { _ in Handler(lines: self, metadata: metadata, logLevel: level) }
    }

    fileprivate func append(_ line: Line) { lines.withLock { $0.append(line) } }

    fileprivate struct Handler: LogHandler {
        let lines: CapturedLines
        var metadata: Logger.Metadata
        var logLevel: Logger.Level

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            lines.append(Line(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
        }
    }
}

@Suite("run logging")
struct RunLoggingTests {
    @Test("a run's lines carry its run, function and correlation ids beside the worker's own metadata; a line's own metadata wins")
    func runLinesCarryTheRunsIDs() async throws {
        let captured = CapturedLines()
        let function = NightshiftFunction(id: "test/logged", payload: NoPayload.self) { _, context in
            context.logger.info("plain line")
            context.logger.warning("own metadata", metadata: ["function_id": "overridden", "extra": "1"])
            return NoPayload()
        }
        try await withEngine([function]) { engine in
            let id = try await engine.client.trigger("test/logged")
            let record = try await engine.withWorker(logger: captured.logger(metadata: ["host": "h1"])) {
                try await engine.wait(for: id, status: "completed")
            }
            let runID = id.uuidString.lowercased()
            let correlationID = record.correlationID.uuidString.lowercased()

            let plain = try #require(captured.all.first { $0.message == "plain line" })
            #expect(plain.metadata["run_id"] == runID)
            #expect(plain.metadata["function_id"] == "test/logged")
            #expect(plain.metadata["correlation_id"] == correlationID)
            #expect(plain.metadata["host"] == "h1")
            #expect(plain.metadata["worker"] == "test-worker")

            let own = try #require(captured.all.first { $0.message == "own metadata" })
            #expect(own.level == .warning)
            #expect(own.metadata["function_id"] == "overridden")
            #expect(own.metadata["extra"] == "1")
            #expect(own.metadata["run_id"] == runID)

            // The worker's own line about the run is the run's too.
            let completed = try #require(captured.all.first { $0.message == "run completed" })
            #expect(completed.metadata["run_id"] == runID)
            #expect(completed.metadata["correlation_id"] == correlationID)
        }
    }

    @Test("the run's handler reads as the worker's plus the run's ids; metadata set on it later wins over them; its level passes through")
    func handlerReadsAndWritesThrough() throws {
        let captured = CapturedLines()
        let runID = UUID()
        let correlationID = UUID()
        let base = captured.logger(level: .notice, metadata: ["worker": "w1"])
        var logger = base
        logger.handler = RunLogHandler(base: base.handler, runID: runID, functionID: "test/f", correlationID: correlationID)

        #expect(logger.logLevel == .notice)
        #expect(logger[metadataKey: "run_id"] == .string(runID.uuidString.lowercased()))
        #expect(logger[metadataKey: "worker"] == .string("w1"))
        #expect(logger.handler.metadata["correlation_id"] == .string(correlationID.uuidString.lowercased()))
        #expect(logger.handler.metadata["worker"] == .string("w1"))

        logger.info("below the level")
        logger.logLevel = .info
        logger.notice("before any change")
        // Set later on the run's logger, it wins over the run's id (as a pack tags its job's).
        logger[metadataKey: "correlation_id"] = "job-correlation"
        logger[metadataKey: "step"] = "fetch"
        logger.info("after changes")

        let lines = captured.all
        #expect(lines.map(\.message) == ["before any change", "after changes"])
        let before = try #require(lines.first)
        #expect(before.metadata["correlation_id"] == correlationID.uuidString.lowercased())
        #expect(before.metadata["step"] == nil)
        let after = try #require(lines.last)
        #expect(after.metadata["correlation_id"] == "job-correlation")
        #expect(after.metadata["step"] == "fetch")
        #expect(after.metadata["run_id"] == runID.uuidString.lowercased())
        #expect(after.metadata["function_id"] == "test/f")
        #expect(after.metadata["worker"] == "w1")
        #expect(logger[metadataKey: "correlation_id"] == "job-correlation")
        // The worker's logger itself is untouched.
        #expect(base[metadataKey: "run_id"] == nil)
        #expect(base.logLevel == .notice)
    }
}
