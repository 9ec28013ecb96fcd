import NightshiftKit
import Testing

@testable import NightshiftCLI

/// What an application hands `NightshiftCLI.main(packs:)` is checked before any command runs.
@Suite("composition")
struct CompositionTests {
    struct Named: Pack {
        let name: String
    }

    @Test("valid, distinct pack names pass")
    func valid() throws {
        try Composition(packs: [Named(name: "billing"), Named(name: "reports-2")], edgeFunctions: []).validate()
    }

    @Test("a duplicate, malformed or engine name is refused, naming the pack", arguments: [
        (["billing", "billing"], "billing", "two packs share this name"),
        (["Billing"], "Billing", "a pack's name must be lower-case letters, digits, _ and - (starting with a letter)"),
        (["2fa"], "2fa", "a pack's name must be lower-case letters, digits, _ and - (starting with a letter)"),
        (["engine"], "engine", "\"engine\" names the platform's own migrations; pick another name"),
    ])
    func refused(names: [String], pack: String, problem: String) {
        let composition = Composition(packs: names.map { Named(name: $0) }, edgeFunctions: [])
        #expect { try composition.validate() } throws: { error in
            let error = error as? PackError
            return error?.pack == pack && error?.problem == problem
        }
    }
}
