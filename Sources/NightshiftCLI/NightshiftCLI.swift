import Config
import Engine
import NightshiftKit
import Server
import Synchronization

/// The `nightshift` command line as a library: an application's `main` hands it its packs and
/// edge functions, and gets every command (`migrate`, `serve`, `worker`, `run`, `runs`,
/// `functions`, `db reset`, …) for them.
///
/// ```swift
/// @main struct App {
///     static func main() async { await NightshiftCLI.main(packs: [Billing()]) }
/// }
/// ```
public enum NightshiftCLI {
    /// Parses the process's arguments and runs the command, then exits.
    /// Two packs with one name, or a name that is not `[a-z][a-z0-9_-]*` (or `engine`, the
    /// platform's own migrations), stop the process before any command with the reason.
    public static func main(packs: [any Pack], edgeFunctions: [any EdgeFunction] = []) async {
        let composition = Composition(packs: packs, edgeFunctions: edgeFunctions)
        do {
            try composition.validate()
        } catch {
            Nightshift.exit(withError: error)
        }
        Composition.install(composition)
        await Nightshift.main()
    }
}

/// What this binary is made of: the packs and the application's own edge functions. Installed
/// once by ``NightshiftCLI/main(packs:edgeFunctions:)`` before any command is parsed (the
/// argument parser builds commands itself, so they read it from here).
struct Composition: Sendable {
    var packs: [any Pack]
    var edgeFunctions: [any EdgeFunction]

    private static let installed = Mutex(Composition(packs: [], edgeFunctions: []))

    static func install(_ composition: Composition) {
        installed.withLock { $0 = composition }
    }

    static var current: Composition {
        installed.withLock { $0 }
    }

    /// Pack names are migration components and log fields: valid, unique, and not the engine's.
    func validate() throws {
        var seen: Set<String> = []
        for pack in packs {
            guard pack.name.wholeMatch(of: /[a-z][a-z0-9_-]*/) != nil else {
                throw PackError(pack: pack.name, problem: "a pack's name must be lower-case letters, digits, _ and - (starting with a letter)")
            }
            guard pack.name != "engine" else {
                throw PackError(pack: pack.name, problem: "\"engine\" names the platform's own migrations; pick another name")
            }
            guard seen.insert(pack.name).inserted else {
                throw PackError(pack: pack.name, problem: "two packs share this name")
            }
        }
    }

    /// Every pack's config tables.
    var configSections: [any ConfigSection.Type] {
        packs.flatMap(\.configSections)
    }
}
