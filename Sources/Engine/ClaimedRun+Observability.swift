import Foundation
import Logging
import Postgres
import Tracing

extension ClaimedRun {
    /// Names the run on its span with the same ids its log lines carry (lowercase, as PostgreSQL
    /// prints them), so a run found in the logs or in `nightshift.runs` is found in the traces.
    func describe(_ span: any Span) {
        // Without a tracer (NoOpSpan) the attributes would be formatted only to be dropped.
        guard span.isRecording else { return }
        span.attributes["nightshift.run_id"] = id.lowercasedString
        span.attributes["nightshift.function_id"] = functionID
        span.attributes["nightshift.correlation_id"] = correlationID.lowercasedString
        span.attributes["nightshift.attempt"] = attempt
    }
}

extension ClaimedRun {
    /// `base` with the run's ids on every line it writes.
    func logger(from base: Logger) -> Logger {
        var logger = base
        logger.handler = RunLogHandler(base: base.handler, runID: id, functionID: functionID, correlationID: correlationID)
        return logger
    }
}

/// A handler that adds one run's ids to the lines it passes on to `base`, when a line is
/// written: most runs write no line at the worker's level, and copying the handler's metadata
/// with the ids for each of them (and freeing it) was a tenth of the worker's CPU per run in
/// bench/engine's throughput profile. It behaves as `base` with the ids set in its metadata:
/// a line's own metadata wins over them, and so does metadata set on the run's logger later
/// (a pack tags its logger with its job's correlation id), which then goes into `base` for good.
struct RunLogHandler: LogHandler {
    var base: any LogHandler
    let runID: UUID
    let functionID: String
    let correlationID: UUID
    /// The ids were copied into `base.metadata` (at the first change of the metadata).
    private var idsInBase = false

    init(base: any LogHandler, runID: UUID, functionID: String, correlationID: UUID) {
        self.base = base
        self.runID = runID
        self.functionID = functionID
        self.correlationID = correlationID
    }

    private var runMetadata: Logger.Metadata {
        ["run_id": .string(runID.lowercasedString), "function_id": .string(functionID),
         "correlation_id": .string(correlationID.lowercasedString)]
    }

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    var metadata: Logger.Metadata {
        get { idsInBase ? base.metadata : base.metadata.merging(runMetadata) { $1 } }
        set {
            base.metadata = newValue
            idsInBase = true
        }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { idsInBase ? base[metadataKey: key] : runMetadata[key] ?? base[metadataKey: key] }
        set {
            if !idsInBase { metadata = metadata }
            base[metadataKey: key] = newValue
        }
    }

    func log(event: LogEvent) {
        guard !idsInBase else { return base.log(event: event) }
        var event = event
        event.metadata = runMetadata.merging(event.metadata ?? [:]) { $1 }
        base.log(event: event)
    }
}
