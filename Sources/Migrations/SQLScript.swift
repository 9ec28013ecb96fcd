/// Splits a SQL script into statements, remembering the line each starts on, so that a
/// failing statement can be named by file and line. Understands quotes, quoted identifiers,
/// dollar quoting (`$$`, `$tag$`), line and nested block comments.
struct SQLScript {
    /// One statement of the script: its text and the 1-based line where it starts.
    struct Statement: Equatable {
        let sql: String
        let line: Int
    }

    let statements: [Statement]

    init(_ text: String) {
        let chars = Array(text.unicodeScalars)
        var statements: [Statement] = []
        var current = String.UnicodeScalarView()
        var line = 1
        var startLine: Int?
        var index = 0

        func peek(_ offset: Int) -> Unicode.Scalar? {
            index + offset < chars.count ? chars[index + offset] : nil
        }
        func take() {
            let c = chars[index]
            current.append(c)
            if c == "\n" { line += 1 }
            index += 1
        }
        /// Outside a statement, whitespace and comments are dropped so that a statement's text
        /// starts on its own first line and error positions map back to script lines.
        func consume() {
            if startLine == nil {
                if chars[index] == "\n" { line += 1 }
                index += 1
            } else {
                take()
            }
        }
        func flush() {
            let sql = String(current).trimmingCharacters(in: .whitespacesAndNewlines)
            if !sql.isEmpty, let startLine { statements.append(Statement(sql: sql, line: startLine)) }
            current = String.UnicodeScalarView()
            startLine = nil
        }

        while index < chars.count {
            let c = chars[index]
            if c == "-" && peek(1) == "-" {
                while index < chars.count && chars[index] != "\n" { consume() }
                continue
            }
            if c == "/" && peek(1) == "*" {
                var depth = 0
                repeat {
                    if chars[index] == "/" && peek(1) == "*" { depth += 1; consume(); consume() }
                    else if chars[index] == "*" && peek(1) == "/" { depth -= 1; consume(); consume() }
                    else { consume() }
                } while depth > 0 && index < chars.count
                continue
            }
            if c.properties.isWhitespace {
                consume()
                continue
            }
            if startLine == nil { startLine = line }
            switch c {
            case ";":
                index += 1
                flush()
            case "'":
                // E'..' strings allow backslash escapes; '' is an escaped quote in both kinds.
                let escapes = index > 0 && (chars[index - 1] == "E" || chars[index - 1] == "e")
                take()
                while index < chars.count {
                    if escapes && chars[index] == "\\" { take(); if index < chars.count { take() }; continue }
                    if chars[index] == "'" {
                        take()
                        if peek(0) == "'" { take(); continue }
                        break
                    }
                    take()
                }
            case "\"":
                take()
                while index < chars.count {
                    if chars[index] == "\"" {
                        take()
                        if peek(0) == "\"" { take(); continue }
                        break
                    }
                    take()
                }
            case "$":
                if let tag = Self.dollarTag(chars, at: index) {
                    for _ in 0..<tag.count { take() }
                    while index < chars.count && !Self.matches(chars, at: index, tag) { take() }
                    for _ in 0..<tag.count where index < chars.count { take() }
                } else {
                    take()
                }
            default:
                take()
            }
        }
        flush()
        self.statements = statements
    }

    /// The `$tag$` opening a dollar-quoted string at `index`, or nil (`$1` is a parameter).
    private static func dollarTag(_ chars: [Unicode.Scalar], at index: Int) -> [Unicode.Scalar]? {
        var end = index + 1
        while end < chars.count, chars[end] == "_" || chars[end].properties.isAlphabetic
            || (end > index + 1 && ("0"..."9").contains(chars[end])) {
            end += 1
        }
        guard end < chars.count, chars[end] == "$" else { return nil }
        return Array(chars[index...end])
    }

    private static func matches(_ chars: [Unicode.Scalar], at index: Int, _ tag: [Unicode.Scalar]) -> Bool {
        guard index + tag.count <= chars.count else { return false }
        return chars[index..<index + tag.count].elementsEqual(tag)
    }
}

extension SQLScript.Statement {
    /// The script line of a 1-based character position within this statement.
    func line(ofPosition position: Int) -> Int {
        let prefix = sql.unicodeScalars.prefix(max(0, position - 1))
        return line + prefix.filter { $0 == "\n" }.count
    }
}
