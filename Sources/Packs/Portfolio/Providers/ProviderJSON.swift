import Foundation

/// Checks of a provider's body that read its structure and never its numbers: the body itself
/// goes to SQL verbatim as jsonb, where numeric parsing is exact.
enum ProviderJSON {
    /// Any JSON value, skipped: decoding it reads nothing, so no number becomes a Double.
    struct Skipped: Decodable {
        init(from decoder: any Decoder) throws {}
    }

    /// The parts of a Frankfurter `/latest` answer checked before it is stored.
    struct RatesHead: Decodable {
        let base: String
        let rates: [String: Skipped]
    }

    /// The parts of a `/prices` answer checked before it is stored.
    struct PricesHead: Decodable {
        let prices: [Skipped]
        let missing: [Skipped]?
    }

    /// The body as text, or nil when it is not UTF-8 (JSON must be).
    static func text(_ body: [UInt8]) -> String? {
        String(validating: body, as: UTF8.self)
    }

    /// `T` decoded from `body`, or a sentence saying why it is not one.
    static func decode<T: Decodable>(_ type: T.Type, from body: [UInt8]) -> Result<T, Problem> {
        do {
            return .success(try JSONDecoder().decode(T.self, from: Data(body)))
        } catch let DecodingError.keyNotFound(key, context) {
            return .failure(Problem("no \"\(path(context.codingPath + [key]))\" field"))
        } catch let DecodingError.typeMismatch(expected, context) {
            let at = context.codingPath.isEmpty ? "the body" : "\"\(path(context.codingPath))\""
            return .failure(Problem("\(at) is not \(noun(expected))"))
        } catch let DecodingError.valueNotFound(expected, context) {
            return .failure(Problem("\"\(path(context.codingPath))\" is null, expected \(noun(expected))"))
        } catch {
            return .failure(Problem("the body is not JSON"))
        }
    }

    /// Why a body was refused.
    struct Problem: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    private static func noun(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is [Any].Type, is [Skipped].Type: "an array"
        default: "a JSON object"
        }
    }
}
