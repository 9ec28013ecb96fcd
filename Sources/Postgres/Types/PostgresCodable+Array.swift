extension Array: PostgresEncodable where Element: PostgresArrayElement {
    /// The element's array type, e.g. `text[]`.
    public static var postgresType: PostgresDataType { Element.postgresArrayType }

    /// A one-dimensional array literal; every non-NULL element is double-quoted with `\` and `"`
    /// escaped, so commas, braces, whitespace and the string "NULL" stay data.
    public func postgresText() throws -> String? {
        // Built as UTF-8 bytes: `\` and `"` are ASCII, and no byte of a multi-byte character
        // equals them, so escaping byte by byte is exact (and far cheaper than by scalar: a
        // worker encodes its completions' ids, tokens and outputs this way in every batch).
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2 + count * 40)
        bytes.append(UInt8(ascii: "{"))
        for (index, element) in enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard var value = try element.postgresText() else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            value.withUTF8 { utf8 in
                for byte in utf8 {
                    if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { bytes.append(UInt8(ascii: "\\")) }
                    bytes.append(byte)
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    /// Decodes a one-dimensional array's text output, element by element.
    public init(postgresCell cell: PostgresCell) throws {
        self = try ArrayText.parse(cell.bytes, elementType: ArrayText.elementType(of: cell.type))
    }
}
