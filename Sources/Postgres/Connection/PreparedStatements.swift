import CLibPQ
import Synchronization

/// The statements one connection has prepared for queries marked ``PostgresQuery/prepared``.
///
/// An unnamed statement (`PQexecParams`) is parsed, analysed and planned on every call: for a
/// claim on the listener's connection that was a quarter of the backend's time (0.48 → 0.34 ms
/// from the statement's start to its result, bench/engine latency). A prepared one does that
/// once per connection. Not Sendable: only the connection's own thread touches it.
///
/// Where prepared statements cannot be trusted it falls back to unnamed ones, never to an error:
/// - only between transactions (an error inside a transaction block would abort it);
/// - behind a transaction pooler (PgBouncer in transaction mode) the server connection under
///   this one changes: a statement prepared on one is missing on the next (26000), or another
///   client prepared the name there first (42P05). Either turns preparing off for this
///   connection. Names are unique in the process and carry a random prefix per process, so a
///   name found on a shared server connection is always the statement this process prepared;
/// - a function replaced with another result type makes PostgreSQL refuse the old plan
///   (0A000 "cached plan must not change result type"): the statement is deallocated, run
///   unnamed, and prepared again on the next call.
final class PreparedStatements {
    /// More distinct statements than this are run unnamed: call sites mark fixed SQL only, and
    /// nothing may grow per call.
    static let capacity = 32
    private static let prefix = "nightshift_" + String(UInt64.random(in: .min ... .max), radix: 36) + "_"
    private static let counter = Atomic<Int>(0)

    private var names: [Key: String] = [:]
    private var isDisabled: Bool

    /// `isEnabled` false (`PostgresConfiguration.preparesStatements`): every statement unnamed.
    init(isEnabled: Bool) {
        isDisabled = !isEnabled
    }

    private struct Key: Hashable {
        let sql: String
        let types: [PostgresDataType]
    }

    /// Runs `query` on `handle`: as a prepared statement when it is marked and allowed, else with
    /// `PQexecParams`. Returns the PGresult (nil when libpq could not send anything).
    func run(_ query: PostgresQuery, on handle: OpaquePointer) throws -> OpaquePointer? {
        try ParameterBuffer.withParameters(query.binds, query: query.sql) { types, values in
            let count = Int32(query.binds.count)
            guard query.isPrepared, !isDisabled, PQtransactionStatus(handle) == PQTRANS_IDLE,
                  let name = name(for: query, types: types, on: handle)
            else {
                return PQexecParams(handle, query.sql, count, types, values, nil, nil, 0)
            }
            let result = PQexecPrepared(handle, name, count, values, nil, nil, 0)
            switch Self.sqlState(result) {
            case "26000":
                // Refused at Bind, so nothing ran: the server connection under this one changed.
                isDisabled = true
                names = [:]
            case "0A000":
                // feature_not_supported: also what a statement may raise itself, so it is run
                // again only when its plan was refused before running (English messages; in
                // another language the caller sees the error once and the next call prepares anew).
                names[Key(sql: query.sql, types: query.binds.types)] = nil
                PQclear(PQexec(handle, "deallocate \(name)"))
                guard Self.message(result).hasPrefix("cached plan must not change result type") else { return result }
            default:
                return result
            }
            PQclear(result)
            return PQexecParams(handle, query.sql, count, types, values, nil, nil, 0)
        }
    }

    /// The statement's name on this connection, prepared now if it was not; nil to run it unnamed.
    private func name(for query: PostgresQuery, types: UnsafePointer<Oid>?, on handle: OpaquePointer) -> String? {
        let key = Key(sql: query.sql, types: query.binds.types)
        if let name = names[key] { return name }
        guard names.count < Self.capacity else { return nil }
        let name = Self.prefix + String(Self.counter.add(1, ordering: .relaxed).newValue)
        let result = PQprepare(handle, name, query.sql, Int32(query.binds.count), types)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else {
            // 42P05: another client's statement of that name on a shared server connection.
            // Anything else (a statement that cannot be planned) is left for the unnamed run to
            // report as usual.
            if Self.sqlState(result) == "42P05" { isDisabled = true }
            return nil
        }
        names[key] = name
        return name
    }

    private static func sqlState(_ result: OpaquePointer?) -> String? {
        field(UInt8(ascii: "C"), of: result)
    }

    private static func message(_ result: OpaquePointer?) -> String {
        field(UInt8(ascii: "M"), of: result) ?? ""
    }

    private static func field(_ code: UInt8, of result: OpaquePointer?) -> String? {
        guard let result, let value = PQresultErrorField(result, Int32(code)) else { return nil }
        return String(cString: value)
    }
}
