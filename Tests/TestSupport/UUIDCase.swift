import Foundation

/// Every UUID-shaped string in `text` written with an upper-case letter: what an answer, a run
/// output or a step checkpoint must not hold (identifiers are lower-case everywhere, as
/// PostgreSQL writes them).
public func upperCaseUUIDs(in text: String) -> [String] {
    let hex = "[0-9A-Fa-f]"
    let pattern = "\(hex){8}-\(hex){4}-\(hex){4}-\(hex){4}-\(hex){12}"
    guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
    return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
        Range(match.range, in: text).map { String(text[$0]) }
    }.filter { $0 != $0.lowercased() }
}
