import Foundation

/// Parses request bodies into messages that say what was wrong and where.
public enum JSONBody {
    /// Fails unless `bytes` is one well-formed JSON value that PostgreSQL can store: no string
    /// or key holds a NUL character (`\u0000`), which neither text nor jsonb can hold.
    public static func validate(_ bytes: [UInt8]) throws(APIError) {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw .badRequest("body is not valid JSON: \(describe(error))", code: "invalid_json")
        }
        if let path = nulPath(value, at: "") {
            throw .badRequest("\(path.isEmpty ? "the body" : "field \"\(path)\"") holds a NUL character (\\u0000), which cannot be stored",
                              code: "invalid_json")
        }
    }

    /// The path of the first string or key holding U+0000, or nil.
    private static func nulPath(_ value: Any, at path: String) -> String? {
        switch value {
        case let text as String:
            return text.contains("\u{0}") ? path : nil
        case let object as [String: Any]:
            for (key, member) in object {
                let memberPath = path.isEmpty ? key : "\(path).\(key)"
                if key.contains("\u{0}") { return memberPath }
                if let found = nulPath(member, at: memberPath) { return found }
            }
            return nil
        case let array as [Any]:
            for (index, element) in array.enumerated() {
                if let found = nulPath(element, at: "\(path)[\(index)]") { return found }
            }
            return nil
        default:
            return nil
        }
    }

    /// Decodes `bytes` as `type`; a failure is a 400 `invalid_body` whose message names the field
    /// at fault and what was wrong with it (missing, null, of the wrong type, invalid).
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(APIError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let error as DecodingError {
            throw .badRequest(message(for: error), code: "invalid_body")
        } catch {
            throw .badRequest("body could not be read: \(error)", code: "invalid_body")
        }
    }

    private static func path(_ codingPath: [any CodingKey], appending key: (any CodingKey)? = nil) -> String {
        let keys = codingPath + (key.map { [$0] } ?? [])
        return keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            .joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }

    private static func message(for error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "field \"\(path(context.codingPath, appending: key))\" is required"
        case .valueNotFound(_, let context):
            return "field \"\(path(context.codingPath))\" must not be null"
        case .typeMismatch(let type, let context):
            return "field \"\(path(context.codingPath))\" must be \(describe(type))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return "body is not valid JSON: \(context.underlyingError.map(describe) ?? context.debugDescription)"
            }
            return "field \"\(path(context.codingPath))\" is invalid: \(context.debugDescription)"
        @unknown default:
            return "body does not match the expected shape"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int64.Type, is Int32.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object"
        }
    }

    private static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        if let detail = nsError.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        return nsError.localizedDescription
    }
}
