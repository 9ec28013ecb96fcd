import Config
import Engine
import HTTPClient
import NightshiftKit
import ServiceTokens

/// Every function this binary declares: the built-ins, then each pack's jobs, then the jobs
/// declared in config. Every process must declare the same set (sync retires the functions a
/// process leaves out).
enum Functions {
    static func all(_ context: PackContext, packs: [any Pack]) throws -> [NightshiftFunction] {
        var functions = Builtins.all
        for pack in packs {
            do {
                functions += try pack.functions(context)
            } catch let error as ConfigError {
                throw error
            } catch {
                throw PackError(pack: pack.name, problem: "could not build its functions: \(error)")
            }
        }
        return functions + declared(config: context.config, http: context.http)
    }

    /// The jobs declared in config (`[functions."<id>"]` with `sql` or `http`). An HTTP job sends
    /// the service credential: a token minted per call (loopback only unless
    /// `[auth] allow_remote_service_token`), unless its headers carry their own Authorization.
    /// The loader of the functions defined from SQL (`nightshift.define_function`), with the
    /// same service credential as the config-declared HTTP jobs.
    static func defined(config: NightshiftConfig, http: HTTPClient) -> DefinedFunctions {
        let credential = ServiceCredential(auth: config.auth, projectID: config.projectID)
        return DefinedFunctions(http: http, bearer: { url in try await credential.bearer(for: url) })
    }

    static func declared(config: NightshiftConfig, http: HTTPClient) -> [NightshiftFunction] {
        let credential = ServiceCredential(auth: config.auth, projectID: config.projectID)
        return config.declaredJobs.values.sorted { $0.id < $1.id }.map { job in
            NightshiftFunction.declared(job, http: http, bearer: { url in try await credential.bearer(for: url) })
        }
    }
}

/// A pack that failed to build what it contributes, named.
struct PackError: Error, CustomStringConvertible {
    let pack: String
    let problem: String
    var description: String { "pack \(pack): \(problem)" }
}
