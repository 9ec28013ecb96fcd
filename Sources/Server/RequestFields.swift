import Foundation

/// Parses a required uuid field, naming it when it is missing or malformed.
public func requireUUID(_ text: String?, field: String) throws -> UUID {
    guard let text else { throw APIError.badRequest("field \"\(field)\" is required") }
    guard let id = UUID(uuidString: text) else { throw APIError.badRequest("field \"\(field)\" must be a UUID, got \"\(text.prefix(64))\"") }
    return id
}

/// Parses a list of uuids, naming the field and the index of a malformed one.
public func requireUUIDs(_ texts: [String], field: String, max: Int) throws -> [UUID] {
    guard !texts.isEmpty else { throw APIError.badRequest("field \"\(field)\" must not be empty") }
    guard texts.count <= max else { throw APIError.badRequest("field \"\(field)\" takes at most \(max) ids, got \(texts.count)") }
    return try texts.enumerated().map { index, text in try requireUUID(text, field: "\(field)[\(index)]") }
}
