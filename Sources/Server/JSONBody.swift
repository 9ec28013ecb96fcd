import Foundation

/// Parses request bodies into messages that say what was wrong and where.
enum JSONBody {
    /// Fails unless `bytes` is one well-formed JSON value.
    static func validate(_ bytes: [UInt8]) throws(APIError) {
        do {
            _ = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw .badRequest("body is not valid JSON: \(describe(error))", code: "invalid_json")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(APIError) -> T {
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
