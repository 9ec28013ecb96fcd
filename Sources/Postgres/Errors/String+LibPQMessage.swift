extension String {
    /// libpq's multi-line connection messages ("...\n\tThis probably means...") as one log-friendly line.
    var singleLine: String {
        split(whereSeparator: \.isNewline).map { $0.trimmedWhitespace }.filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// libpq messages end in newlines.
    var trimmedWhitespace: String {
        Substring(self).trimmedWhitespace
    }
}

extension Substring {
    /// The text without leading and trailing whitespace.
    var trimmedWhitespace: String {
        var scalars = self
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        return String(scalars)
    }
}
