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
    public static func main(packs: [any Pack], edgeFunctions: [any EdgeFunction] = []) async {
        Composition.install(Composition(packs: packs, edgeFunctions: edgeFunctions))
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

    /// Every pack's config tables.
    var configSections: [any ConfigSection.Type] {
        packs.flatMap(\.configSections)
    }
}
