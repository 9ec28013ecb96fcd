import Tracing

extension ClaimedRun {
    /// Names the run on its span with the same ids its log lines carry (lowercase, as PostgreSQL
    /// prints them), so a run found in the logs or in `nightshift.runs` is found in the traces.
    func describe(_ span: any Span) {
        span.attributes["nightshift.run_id"] = id.uuidString.lowercased()
        span.attributes["nightshift.function_id"] = functionID
        span.attributes["nightshift.correlation_id"] = correlationID.uuidString.lowercased()
        span.attributes["nightshift.attempt"] = attempt
    }
}
