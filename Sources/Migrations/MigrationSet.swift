import Foundation

/// The migrations of one component (the engine, or a pack), applied in name order, after the components it requires.
///
/// Each component's history is its own: `nightshift.schema_migrations` records (component, name), and
/// the checks a run makes (a changed file, a missing one, one slipped in before the newest applied)
/// look at one component at a time, so a pack's files can be added after the engine's newer ones.
public struct MigrationSet: Sendable, Equatable {
    /// `engine`, `billing`, `hello`: lowercase letters, digits, `_` and `-`, starting with a letter.
    public let component: String
    /// The components that must be applied first (a pack: `["engine"]`).
    public let requires: [String]
    /// The files, in name order (the order they apply in).
    public let files: [MigrationFile]

    /// A set of `files` (sorted by name here); the component name is checked by `ordered` and by the migrator.
    public init(component: String, requires: [String] = [], files: [MigrationFile]) {
        self.component = component
        self.requires = requires
        self.files = files.sorted { $0.name < $1.name }
    }

    /// Every NNNN_area_what.sql in `directory` (same naming rules as `MigrationFile.load`).
    public static func load(component: String, requires: [String] = [], from directory: URL) throws -> MigrationSet {
        try validate(component)
        do {
            return MigrationSet(component: component, requires: requires, files: try MigrationFile.load(from: directory.path))
        } catch let error as MigrationError {
            throw MigrationError(
                component: component, file: error.file, line: error.line, sqlState: error.sqlState, problem: error.problem)
        }
    }

    /// The sets in an order that applies each after what it requires (otherwise in the order given).
    ///
    /// `only` (nil: every set) selects components by name, and ALWAYS pulls in what they require,
    /// transitively: `only: ["billing"]` gives the engine and the billing pack. Refused with a
    /// `MigrationError`: a name in `only` that no set has, a requirement no set provides, a cycle
    /// of requirements, two sets with one name, an invalid component name, a file name twice in a set.
    public static func ordered(_ sets: [MigrationSet], only: Set<String>? = nil) throws -> [MigrationSet] {
        var byName: [String: MigrationSet] = [:]
        for set in sets {
            try validate(set.component)
            if byName[set.component] != nil {
                throw MigrationError(component: set.component, file: "", problem: "two migration sets are named \(set.component)")
            }
            byName[set.component] = set
            var names: Set<String> = []
            for file in set.files where !names.insert(file.name).inserted {
                throw MigrationError(component: set.component, file: file.name, problem: "is in the set twice")
            }
        }
        let known = sets.map(\.component).joined(separator: ", ")
        for set in sets {
            for required in set.requires where byName[required] == nil {
                throw MigrationError(
                    component: set.component, file: "",
                    problem: "requires component \(required), which no migration set provides (known: \(known))")
            }
        }

        // Depth first, requirements before the set; `path` is the chain being visited, so meeting
        // one of its members again is a cycle, reported as the chain that closes it.
        var order: [MigrationSet] = []
        var placed: Set<String> = []
        func visit(_ set: MigrationSet, path: [String]) throws {
            if placed.contains(set.component) { return }
            if let start = path.firstIndex(of: set.component) {
                let cycle = path[start...] + [set.component]
                throw MigrationError(
                    component: set.component, file: "",
                    problem: "the components' requirements form a cycle: \(cycle.joined(separator: " -> "))")
            }
            for required in set.requires { try visit(byName[required]!, path: path + [set.component]) }
            placed.insert(set.component)
            order.append(set)
        }
        for set in sets { try visit(set, path: []) }

        guard let only else { return order }
        for name in only.sorted() where byName[name] == nil {
            throw MigrationError(component: name, file: "", problem: "no migration set is named \(name) (known: \(known))")
        }
        var selected: Set<String> = []
        func select(_ name: String) {
            guard selected.insert(name).inserted else { return }
            for required in byName[name]!.requires { select(required) }
        }
        for name in only { select(name) }
        return order.filter { selected.contains($0.component) }
    }

    /// Refuses a component name that is not `^[a-z][a-z0-9_-]*$` (it names folders and rows).
    static func validate(_ component: String) throws {
        guard component.wholeMatch(of: /[a-z][a-z0-9_-]*/) != nil else {
            throw MigrationError(
                component: component, file: "",
                problem: "\"\(component)\" is not a valid component name (lowercase letters, digits, _ and -, starting with a letter)")
        }
    }
}
