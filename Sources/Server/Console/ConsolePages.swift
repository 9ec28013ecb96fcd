import Engine
import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// The console's templates (Templates/*.mustache, read once at start-up) and static assets, and
/// the HTML responses made from them. Mustache escapes every `{{value}}` for HTML; the only
/// unescaped output (`{{{chart}}}`) is SVG the server draws from numbers.
struct ConsolePages: Sendable {
    let library: MustacheLibrary
    let assets: [String: (type: String, body: String)]

    init() throws {
        guard let templates = Bundle.module.url(forResource: "Templates", withExtension: nil),
              let assetFolder = Bundle.module.url(forResource: "Assets", withExtension: nil) else {
            throw ConsoleError(.internalServerError, "the console's templates are missing from the Server bundle")
        }
        var library = MustacheLibrary()
        for name in try FileManager.default.contentsOfDirectory(atPath: templates.path) where name.hasSuffix(".mustache") {
            let text = try String(contentsOf: templates.appendingPathComponent(name), encoding: .utf8)
            try library.register(text, named: String(name.dropLast(".mustache".count)))
        }
        self.library = library
        var assets: [String: (type: String, body: String)] = [:]
        for (name, type) in [("console.css", "text/css; charset=utf-8"), ("console.js", "text/javascript; charset=utf-8")] {
            assets[name] = (type, try String(contentsOf: assetFolder.appendingPathComponent(name), encoding: .utf8))
        }
        self.assets = assets
    }

    /// Renders `template` with `context`; a missing template is a programming error shown as one.
    func render(_ template: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: template) ?? "template \(template) is missing"
    }

    /// An HTML response with the console's headers: never cached (pages show live state), no
    /// framing, scripts and styles from this origin only.
    static func html(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static var securityHeaders: HTTPFields {
        [
            HTTPField.Name("Content-Security-Policy")!: "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "same-origin",
        ]
    }

    /// 303 to `location` (after a POST, so a reload does not send the form again).
    static func redirect(_ location: String) -> Response {
        var headers = securityHeaders
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }
}

/// An error a console page answers with an HTML page of this status.
struct ConsoleError: Error {
    let status: HTTPResponse.Status
    let message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// JSON from the `api` functions as what Mustache reads: objects as dictionaries, arrays as
/// arrays, numbers and strings as text, null as absent (so `{{#x}}` is false for it).
enum TemplateValue {
    static func from(_ value: JSONValue) -> Any? {
        switch value {
        case .null: return nil
        case .bool(let bool): return bool
        case .number(let number): return "\(number)"
        case .string(let string): return string
        case .array(let array): return array.map { from($0) ?? "" }
        case .object(let object): return object.compactMapValues { from($0) }
        }
    }

    /// An object's fields; anything else is empty.
    static func object(_ value: JSONValue?) -> [String: Any] {
        guard let value, case .object = value else { return [:] }
        return from(value) as? [String: Any] ?? [:]
    }

    /// JSON text for a `<pre>`, keys sorted and indented; nil for null or absent.
    static func pretty(_ value: JSONValue?) -> String? {
        guard let value, value != .null else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) }
    }
}
