import Foundation
import Testing

@testable import Migrations

@Suite("migration sets: order and selection")
struct MigrationSetTests {
    func set(_ component: String, requires: [String] = [], _ names: String...) -> MigrationSet {
        MigrationSet(component: component, requires: requires, files: names.map { MigrationFile(name: $0, sql: "select 1;") })
    }

    @Test("a set comes after the sets it requires, whatever order they are given in; otherwise the given order")
    func requirementsFirst() throws {
        let engine = set("engine", "0001_e.sql")
        let dossier = set("dossier", requires: ["engine"], "0011_d.sql")
        let hello = set("hello", requires: ["dossier", "engine"], "0050_h.sql")
        let coverage = set("coverage", requires: ["engine"], "0020_c.sql")
        let ordered = try MigrationSet.ordered([hello, coverage, dossier, engine])
        #expect(ordered.map(\.component) == ["engine", "dossier", "hello", "coverage"])
        #expect(try MigrationSet.ordered([engine, dossier, coverage]).map(\.component) == ["engine", "dossier", "coverage"])
    }

    @Test("only selects components and always pulls in what they require, transitively")
    func onlyPullsRequirements() throws {
        let sets = [
            set("engine", "0001_e.sql"), set("dossier", requires: ["engine"], "0011_d.sql"),
            set("hello", requires: ["dossier"], "0050_h.sql"), set("coverage", requires: ["engine"], "0020_c.sql"),
        ]
        #expect(try MigrationSet.ordered(sets, only: ["engine"]).map(\.component) == ["engine"])
        #expect(try MigrationSet.ordered(sets, only: ["hello"]).map(\.component) == ["engine", "dossier", "hello"])
        #expect(try MigrationSet.ordered(sets, only: ["coverage", "engine"]).map(\.component) == ["engine", "coverage"])
        #expect(try MigrationSet.ordered(sets, only: nil).count == 4)
    }

    @Test("an unknown component in only is refused, naming it and the known ones")
    func unknownOnly() {
        let error = #expect(throws: MigrationError.self) {
            try MigrationSet.ordered([set("engine"), set("dossier", requires: ["engine"])], only: ["engine", "billing"])
        }
        #expect(error?.component == "billing")
        #expect(error?.description == "billing: no migration set is named billing (known: engine, dossier)")
    }

    @Test("a requirement no set provides is refused, naming the set and the requirement")
    func missingRequirement() {
        let error = #expect(throws: MigrationError.self) {
            try MigrationSet.ordered([set("dossier", requires: ["engine"], "0011_d.sql")])
        }
        #expect(error?.component == "dossier")
        #expect(error?.problem.contains("requires component engine, which no migration set provides") == true, "\(String(describing: error))")
    }

    @Test("a cycle of requirements is refused, showing the cycle")
    func cycle() {
        let error = #expect(throws: MigrationError.self) {
            try MigrationSet.ordered([
                set("engine"), set("a", requires: ["engine", "b"]), set("b", requires: ["c"]), set("c", requires: ["a"]),
            ])
        }
        #expect(error?.problem == "the components' requirements form a cycle: a -> b -> c -> a", "\(String(describing: error))")
        let selfish = #expect(throws: MigrationError.self) { try MigrationSet.ordered([set("a", requires: ["a"])]) }
        #expect(selfish?.problem.contains("a -> a") == true)
    }

    @Test("two sets with one name, or one file twice in a set, are refused")
    func duplicates() {
        let twice = #expect(throws: MigrationError.self) {
            try MigrationSet.ordered([set("engine", "0001_a.sql"), set("engine", "0002_b.sql")])
        }
        #expect(twice?.description == "engine: two migration sets are named engine")
        let file = #expect(throws: MigrationError.self) { try MigrationSet.ordered([set("engine", "0001_a.sql", "0001_a.sql")]) }
        #expect(file?.file == "0001_a.sql")
    }

    @Test("a component name must be lowercase letters, digits, _ and -, starting with a letter")
    func componentNames() throws {
        for bad in ["", "Engine", "9lives", "my pack", "a/b", "-x"] {
            #expect(throws: MigrationError.self, "\(bad)") { try MigrationSet.ordered([set(bad)]) }
        }
        for good in ["engine", "my-pack", "pack_2"] { #expect(try MigrationSet.ordered([set(good)]).count == 1) }
    }

    @Test("load reads a folder's files in name order, and its errors name the component")
    func load() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migration-set-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "select 2;".write(to: directory.appendingPathComponent("0002_b.sql"), atomically: true, encoding: .utf8)
        try "select 1;".write(to: directory.appendingPathComponent("0001_a.sql"), atomically: true, encoding: .utf8)
        let loaded = try MigrationSet.load(component: "hello", requires: ["engine"], from: directory)
        #expect(loaded == MigrationSet(
            component: "hello", requires: ["engine"],
            files: [MigrationFile(name: "0001_a.sql", sql: "select 1;"), MigrationFile(name: "0002_b.sql", sql: "select 2;")]))
        #expect(throws: MigrationError.self) { try MigrationSet.load(component: "Hello", from: directory) }

        try "select 3;".write(to: directory.appendingPathComponent("3_bad.sql"), atomically: true, encoding: .utf8)
        let error = #expect(throws: MigrationError.self) { try MigrationSet.load(component: "hello", from: directory) }
        #expect(error?.description.hasPrefix("hello/3_bad.sql: ") == true, "\(String(describing: error))")
    }
}
