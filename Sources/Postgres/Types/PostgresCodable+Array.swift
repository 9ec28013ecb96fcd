extension Array: PostgresEncodable where Element: PostgresArrayElement {
    /// The element's array type, e.g. `text[]`.
    public static var postgresType: PostgresDataType { Element.postgresArrayType }

    /// A one-dimensional array literal; every non-NULL element is double-quoted with `\` and `"`
    /// escaped, so commas, braces, whitespace and the string "NULL" stay data.
    public func postgresText() throws -> String? {
        var text = "{"
        for (index, element) in enumerated() {
            if index > 0 { text.append(",") }
            guard let value = try element.postgresText() else {
                text.append("NULL")
                continue
            }
            text.append("\"")
            for character in value.unicodeScalars {
                if character == "\\" || character == "\"" { text.unicodeScalars.append("\\") }
                text.unicodeScalars.append(character)
            }
            text.append("\"")
        }
        text.append("}")
        return text
    }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    /// Decodes a one-dimensional array's text output, element by element.
    public init(postgresCell cell: PostgresCell) throws {
        self = try ArrayText.parse(cell.bytes, elementType: ArrayText.elementType(of: cell.type))
    }
}
