import Config
import Engine
import Foundation
import HTTPClient
import ServiceTokens

/// `dossier/detect-overdue-commitments`: daily at 02:00 in `[dossier] timezone` (default
/// Asia/Riyadh; the hour from OVERDUE_CHECK_HOUR), after writing that zone with
/// `dossier.configure` (the day of due dates and of the notification cap). As the
/// seed system did, it calls the `detect-overdue-commitments` edge function over HTTP as the
/// service role, with a token minted for each attempt that expires in 60 s (`ServiceCredential`);
/// a 5xx or a connection failure is retried with the job's backoff, a 4xx fails the run at once,
/// and so does an endpoint off loopback unless `[auth] allow_remote_service_token` allows it.
/// Payload `{"dryRun": true}` reports without changing anything.
enum DetectOverdue {
    static let id = "dossier/detect-overdue-commitments"

    struct Payload: Codable, Sendable {
        var dryRun: Bool?
    }

    /// The edge function's URL on this deployment's own API.
    static func endpoint(_ config: NightshiftConfig) -> String {
        // A server bound to every interface is reached on loopback from the same machine.
        let host = ["0.0.0.0", "::", ""].contains(config.api.host) ? "127.0.0.1" : config.api.host
        return "http://\(host.contains(":") ? "[\(host)]" : host):\(config.api.port)/functions/v1/detect-overdue-commitments"
    }

    static func function(
        endpoint: String, credential: ServiceCredential, http: HTTPClient, timeZone: String = DossierSettings().timeZone
    ) -> NightshiftFunction {
        NightshiftFunction(
            id: id, triggers: [.cron("0 2 * * *", timezone: timeZone)], retries: 3, concurrency: .singleton,
            timeout: .seconds(300), payload: Payload.self
        ) { payload, run in
            try await DossierSettings.configure(timeZone, database: run.database)
            return try await run.step.run("detect") { () async throws -> JSONValue in
                let token: String
                do {
                    token = try await credential.bearer(for: endpoint)
                } catch let error as ServiceCredentialError {
                    throw NonRetriableError(error.message)
                }
                var request = try HTTPRequest(
                    url: endpoint, headers: ["Authorization": "Bearer \(token)"], json: ["dryRun": payload.dryRun ?? false])
                request.timeout = .seconds(240)
                let response = try await http.execute(request)
                // The server's envelope: {"data": {...}, "error": null}.
                guard case .object(let envelope) = try JSONValue(json: String(decoding: response.body, as: UTF8.self)),
                      let data = envelope["data"] else {
                    throw NonRetriableError("detect-overdue-commitments answered without a data field")
                }
                run.logger.info("overdue commitments detected", metadata: ["result": "\(data)"])
                return data
            }
        }
    }
}
