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
    /// `base` with the run's ids as metadata, set in one change: a handler may redo work on
    /// every change (swift-log's StreamLogHandler formats all of its metadata again).
    func logger(from base: Logger) -> Logger {
        var logger = base
        var metadata = logger.handler.metadata
        metadata["run_id"] = .string(id.lowercasedString)
        metadata["function_id"] = .string(functionID)
        metadata["correlation_id"] = .string(correlationID.lowercasedString)
        logger.handler.metadata = metadata
        return logger
    }
}
