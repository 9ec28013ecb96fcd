import ArgumentParser
import Foundation
import TextTable

/// `--output table|json`: how a listing command prints its rows.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Aligned columns under a header, for people.
    case table
    /// One JSON array of objects with stable snake_case keys, for scripts (`jq`).
    case json
}

/// The `--output` option every listing command takes.
struct OutputOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: table (for people) or json (one array of objects, stable snake_case keys).")
    var output: OutputFormat = .table
}

/// One JSON value of a listing row.
enum JSONCell: Sendable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case strings([String])
    case object([String: JSONCell])
    case null

    static func optional(_ text: String?) -> JSONCell { text.map { .string($0) } ?? .null }
    static func optional(_ number: Int?) -> JSONCell { number.map { .int($0) } ?? .null }
    static func date(_ date: Date?) -> JSONCell { date.map { .string($0.formatted(.iso8601)) } ?? .null }

    var object: Any {
        switch self {
        case .string(let text): text
        case .int(let number): number
        case .bool(let flag): flag
        case .strings(let list): list
        case .object(let fields): fields.mapValues(\.object)
        case .null: NSNull()
        }
    }
}

/// How a listing command's rows print: the JSON keys of each row, and the table's columns
/// (a title and the cell's text). The table goes through TextTable (widths, alignment).
struct Listing<Row> {
    var json: (Row) -> [(key: String, value: JSONCell)]
    var columns: [(title: String, text: (Row) -> String)]

    func render(_ rows: [Row], as format: OutputFormat) -> String {
        switch format {
        case .json: Self.jsonText(rows.map { Dictionary(uniqueKeysWithValues: json($0).map { ($0.key, $0.value.object) }) })
        case .table: Self.table(titles: columns.map(\.title), rows: rows.map { row in columns.map { $0.text(row) } })
        }
    }

    /// The lines without the last column's padding.
    private static func trimmed<Lines: Sequence<Substring>>(_ lines: Lines) -> String {
        lines.map { line in String(line.reversed().drop { $0 == " " }.reversed()) }.joined(separator: "\n")
    }

    /// A JSON array of objects, keys sorted, pretty-printed.
    static func jsonText(_ objects: [[String: Any]]) -> String {
        let data = try! JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// The header, a rule and one line per row; just the header and rule when there are none.
    static func table(titles: [String], rows: [[String]]) -> String {
        let table = TextTable<[String]> { cells in
            zip(titles, cells).map { Column(title: $0, value: $1) }
        }
        if rows.isEmpty {
            // TextTable needs a row to lay out the columns: an empty one gives header and rule.
            let empty = table.string(for: [titles.map { _ in "" }], style: Style.simple) ?? ""
            return trimmed(empty.split(separator: "\n").prefix(2))
        }
        let text = table.string(for: rows, style: Style.simple) ?? ""
        return trimmed(text.split(separator: "\n"))
    }
}

/// A date as the tables show it: ISO 8601 in UTC, `-` for none.
func tableDate(_ date: Date?) -> String {
    date?.formatted(.iso8601) ?? "-"
}

/// A duration as progress lines show it: `1.3 s`.
func secondsText(_ duration: Duration) -> String {
    let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    return String(format: "%.1f s", seconds)
}
