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
