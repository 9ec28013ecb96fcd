import Foundation
import Postgres
import Server

/// Turns the dossier pack's SQL errors into the HTTP answers its edge functions promise:
/// an unknown dossier is 404, an invalid argument 400; anything else stays a server error.
func mapDossierErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as PostgresError {
        switch error.sqlState {
        case "NSD01": throw APIError.notFound(error.message)
        case "22004", "22023": throw APIError.badRequest(error.message)
        default: throw error
        }
    }
}

/// Parses a required uuid field, naming it when it is missing or malformed.
func requireUUID(_ text: String?, field: String) throws -> UUID {
    guard let text else { throw APIError.badRequest("field \"\(field)\" is required") }
    guard let id = UUID(uuidString: text) else { throw APIError.badRequest("field \"\(field)\" must be a UUID, got \"\(text.prefix(64))\"") }
    return id
}

/// Parses a list of uuids, naming the field and the index of a malformed one.
func requireUUIDs(_ texts: [String], field: String, max: Int) throws -> [UUID] {
    guard !texts.isEmpty else { throw APIError.badRequest("field \"\(field)\" must not be empty") }
    guard texts.count <= max else { throw APIError.badRequest("field \"\(field)\" takes at most \(max) ids, got \(texts.count)") }
    return try texts.enumerated().map { index, text in try requireUUID(text, field: "\(field)[\(index)]") }
}
