import Foundation
import Logging

/// A swift-log handler that writes one JSON object per line:
/// `{"ts":"…","level":"info","component":"server","message":"…", …metadata}`.
public struct JSONLogHandler: LogHandler {
    /// The logger's label, printed as `component`.
    public let component: String
    /// The lowest level written; swift-log drops less severe messages before they get here.
    public var logLevel: Logger.Level
    /// Fields on every line of this logger (`run_id`, `function_id`, …); a message's own
    /// metadata wins on a clash.
    public var metadata: Logger.Metadata = [:]
    private let sink: LogSink

    /// A handler for the logger labelled `component`, writing lines at `level` and above to `sink`
    /// (standard error unless given).
    public init(component: String, level: Logger.Level = .info, sink: LogSink = .standardError) {
        self.component = component
        self.logLevel = level
        self.sink = sink
    }

    /// One field of ``metadata``.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes the event as one JSON line: `ts`, `level`, `component`, `message`, the metadata,
    /// and `source` (file:line) for errors. A line that cannot be encoded is dropped rather than
    /// written half.
    public func log(event: LogEvent) {
        var fields: [String: Any] = [:]
        for (key, value) in metadata { fields[key] = Self.json(value) }
        for (key, value) in event.metadata ?? [:] { fields[key] = Self.json(value) }
        fields["ts"] = Self.timestamp(Date())
        fields["level"] = event.level.rawValue
        fields["component"] = component
        fields["message"] = event.message.description
        if event.level >= .error { fields["source"] = "\(event.file):\(event.line)" }
        guard var line = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        line.append(0x0A)
        sink.write(line)
    }

    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let string): return string
        case .stringConvertible(let convertible): return convertible.description
        case .array(let values): return values.map(json)
        case .dictionary(let dictionary): return dictionary.mapValues(json)
        }
    }

    private static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
