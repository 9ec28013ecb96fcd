/// Parser for PostgreSQL's array text output: `{a,"b \"c\"",NULL}`.
enum ArrayText {
    /// Array type OID to element type OID for the built-in arrays decoders care about.
    private static let elementTypes: [UInt32: UInt32] = [
        1000: 16, 1005: 21, 1007: 23, 1009: 25, 1015: 1043, 1016: 20, 1021: 700, 1022: 701,
        1182: 1082, 1185: 1184, 1231: 1700, 2951: 2950, 3807: 3802, 199: 114,
    ]

    static func elementType(of arrayType: PostgresDataType) -> PostgresDataType {
        PostgresDataType(rawValue: elementTypes[arrayType.rawValue] ?? 0)
    }

    static func parse<Element: PostgresDecodable>(
        _ bytes: UnsafeRawBufferPointer,
        elementType: PostgresDataType
    ) throws -> [Element] {
        guard bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}") else {
            throw PostgresDecodingFailure("not a one-dimensional array (expected {...})")
        }
        var result: [Element] = []
        if bytes.count == 2 { return result }
        var scratch: [UInt8] = []
        var index = 1
        let end = bytes.count - 1
        while index <= end {
            guard index < end else { throw PostgresDecodingFailure("malformed array") }
            scratch.removeAll(keepingCapacity: true)
            var quoted = false
            if bytes[index] == UInt8(ascii: "{") {
                throw PostgresDecodingFailure("multidimensional arrays are not supported")
            }
            if bytes[index] == UInt8(ascii: "\"") {
                quoted = true
                index += 1
                while true {
                    guard index < end else { throw PostgresDecodingFailure("malformed array") }
                    let byte = bytes[index]
                    index += 1
                    if byte == UInt8(ascii: "\"") { break }
                    if byte == UInt8(ascii: "\\") {
                        guard index < end else { throw PostgresDecodingFailure("malformed array") }
                        scratch.append(bytes[index])
                        index += 1
                    } else {
                        scratch.append(byte)
                    }
                }
            } else {
                while index < end, bytes[index] != UInt8(ascii: ",") {
                    if bytes[index] == UInt8(ascii: "\\"), index + 1 < end { index += 1 }
                    scratch.append(bytes[index])
                    index += 1
                }
            }
            guard index == end || bytes[index] == UInt8(ascii: ",") else {
                throw PostgresDecodingFailure("malformed array")
            }
            index += 1
            let isNull =
                !quoted && scratch.count == 4
                && scratch.withUnsafeBytes { TextParsing.equalsIgnoringCase($0, "NULL") }
            if isNull {
                guard let null = Element.postgresNull else {
                    throw PostgresDecodingFailure("array element \(result.count + 1) is NULL; decode [T?] instead")
                }
                result.append(null)
            } else {
                result.append(
                    try scratch.withUnsafeBytes { try Element(postgresCell: PostgresCell(bytes: $0, type: elementType)) }
                )
            }
        }
        return result
    }
}
