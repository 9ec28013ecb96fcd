import Engine
import Foundation
import Tracing

/// The overnight run's figures: the `overnight-scoring-job` span's attributes, and the same
/// values in `overnight_job_runs.metrics`, so a trace and the telemetry row never disagree.
struct Figures: Sendable {
    var fetchRatesMilliseconds: Int
    var usersTotal: Int
    var usersSuccess: Int
    var usersFailed: Int
    var totalDurationMilliseconds: Int
    var assetsScored: Int
    var ratesStale: Bool
    var ratesProblem: String?
    var pricesFetchMilliseconds: Int
    var priceRequests: Int
    var auditPartitionsDropped: Int
    /// The batches' scoring time, summed (a resumed run counts each batch once).
    var processUsersMilliseconds = 0
    /// Recommendation rows the run wrote.
    var recommendationsGenerated = 0
    /// Some assets were priced with their last stored price.
    var pricesStale = false
    /// Assets left without any price (their holders failed).
    var pricesMissing = 0

    func describe(_ span: any Span) {
        span.attributes["fetch_rates_ms"] = fetchRatesMilliseconds
        span.attributes["users_total"] = usersTotal
        span.attributes["users_success"] = usersSuccess
        span.attributes["users_failed"] = usersFailed
        span.attributes["total_duration_ms"] = totalDurationMilliseconds
        span.attributes["assets_scored"] = assetsScored
        span.attributes["rates_stale"] = ratesStale
        span.attributes["process_users_ms"] = processUsersMilliseconds
        span.attributes["recommendations_generated"] = recommendationsGenerated
        span.attributes["prices_stale"] = pricesStale
    }

    /// The metrics object merged into the run's row (the rates' and prices' freshness are
    /// already there: store_rates, reuse_last_rates and store_prices write them).
    func json() throws -> String {
        var object: [String: JSONValue] = [
            "fetch_rates_ms": .number(Decimal(fetchRatesMilliseconds)),
            "fetch_prices_ms": .number(Decimal(pricesFetchMilliseconds)),
            "price_requests": .number(Decimal(priceRequests)),
            "users_total": .number(Decimal(usersTotal)),
            "users_success": .number(Decimal(usersSuccess)),
            "users_failed": .number(Decimal(usersFailed)),
            "total_duration_ms": .number(Decimal(totalDurationMilliseconds)),
            "assets_scored": .number(Decimal(assetsScored)),
            "audit_partitions_dropped": .number(Decimal(auditPartitionsDropped)),
            "ratesStale": .bool(ratesStale),
            "process_users_ms": .number(Decimal(processUsersMilliseconds)),
            "recommendations_generated": .number(Decimal(recommendationsGenerated)),
            "pricesMissing": .number(Decimal(pricesMissing)),
        ]
        if let ratesProblem { object["ratesProblem"] = .string(ratesProblem) }
        return String(decoding: try JSONEncoder().encode(JSONValue.object(object)), as: UTF8.self)
    }
}
