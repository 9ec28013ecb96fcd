import CLibPQ

/// Lays out text bind parameters as the C arrays `PQexecParams` takes: one byte buffer holding
/// every NUL-terminated value, plus a pointer per parameter (NULL for SQL NULL).
enum ParameterBuffer {
    static func withParameters<Result>(
        _ binds: PostgresBindings,
        query: String,
        _ body: (UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?) -> Result
    ) throws -> Result {
        if let failure = binds.encodingFailure {
            throw PostgresError(kind: .encoding, message: failure.message, sqlState: failure.sqlState, query: query)
        }
        if binds.count == 0 { return body(nil, nil) }
        var bytes: [CChar] = []
        var offsets: [Int?] = []
        offsets.reserveCapacity(binds.count)
        for (index, value) in binds.values.enumerated() {
            guard let value else {
                offsets.append(nil)
                continue
            }
            offsets.append(bytes.count)
            for byte in value.utf8 {
                // Text parameters are C strings: an embedded NUL would silently truncate the value.
                guard byte != 0 else {
                    throw PostgresError(
                        kind: .encoding,
                        message: "parameter $\(index + 1) contains a NUL byte",
                        query: query
                    )
                }
                bytes.append(CChar(bitPattern: byte))
            }
            bytes.append(0)
        }
        let oids = binds.types.map { Oid($0.rawValue) }
        return bytes.withUnsafeBufferPointer { buffer in
            let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
                offset.map { buffer.baseAddress! + $0 }
            }
            return oids.withUnsafeBufferPointer { oidBuffer in
                pointers.withUnsafeBufferPointer { body(oidBuffer.baseAddress, $0.baseAddress) }
            }
        }
    }
}
