import CLibPQ

/// Owns one PGconn and finishes it on deinit. Not Sendable: only its owner's thread touches it.
final class LibPQConnection {
    /// The PGconn, valid for this object's lifetime.
    let pointer: OpaquePointer
    /// The last FATAL message the server sent unprompted (e.g. 57P01 from `pg_terminate_backend`);
    /// libpq reports it as a notice, then fails the next query with a generic "server closed" message.
    private(set) var fatalNotice: PostgresError?
    /// The statements prepared on this connection.
    let preparedStatements: PreparedStatements

    /// Takes ownership of an open connection and routes its notices here.
    init(_ pointer: OpaquePointer, preparesStatements: Bool) {
        self.pointer = pointer
        preparedStatements = PreparedStatements(isEnabled: preparesStatements)
        // libpq prints notices to stderr by default; a library must not write there, and the module
        // has no logger, so ordinary notices are dropped and only FATAL ones are kept.
        PQsetNoticeReceiver(
            pointer,
            { context, result in
                guard let context, let result else { return }
                Unmanaged<LibPQConnection>.fromOpaque(context).takeUnretainedValue().received(result)
            },
            // Unretained: the receiver cannot outlive this object, whose deinit finishes the PGconn.
            Unmanaged.passUnretained(self).toOpaque()
        )
    }

    deinit { PQfinish(pointer) }

    /// Turns a generic lost-connection error into the server's reason, when it sent one.
    func explain(_ error: PostgresError) -> PostgresError {
        guard error.kind == .connection, error.sqlState == nil, let fatalNotice else { return error }
        var explained = error
        explained.sqlState = fatalNotice.sqlState
        if PostgresError.timeoutStates.contains(fatalNotice.sqlState ?? "") { explained.kind = .timeout }
        explained.message = fatalNotice.message + " (" + error.message + ")"
        return explained
    }

    private func received(_ result: OpaquePointer) {
        guard let severity = PQresultErrorField(result, Int32(UInt8(ascii: "V"))) else { return }
        let level = String(cString: severity)
        guard level == "FATAL" || level == "PANIC" else { return }
        fatalNotice = PostgresError(result: result, connectionBroken: true, query: nil)
    }
}
