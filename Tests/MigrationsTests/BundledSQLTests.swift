import Foundation
import Migrations
import NightshiftSQL
import TestSupport
import Testing

@Suite("the migrations bundled in NightshiftSQL")
struct BundledSQLTests {
    func numbers(_ set: MigrationSet) -> [String] { set.files.map { String($0.name.prefix(4)) } }

    @Test("the engine and the three packs load from the bundle with their files; packs require the engine")
    func components() throws {
        let engine = try NightshiftSQL.engineMigrations()
        #expect(engine.component == "engine")
        #expect(engine.requires.isEmpty)
        #expect(numbers(engine) == [
            "0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010",
            "0033", "0035", "0036", "0039", "0040", "0041", "0045", "0046", "0047", "0048", "0049", "0050", "0052", "0053", "0054",
            "0063", "0067", "0073", "0074", "0075", "0076", "0078", "0079", "0080", "0081", "0082", "0083", "0084", "0085", "0086", "0087",
        ])
        let expected = [
            "dossier": ["0011", "0012", "0013", "0014", "0042", "0051", "0055", "0069"],
            "coverage": ["0020", "0021", "0022", "0023", "0024", "0043", "0056", "0077"],
            "portfolio": ["0030", "0031", "0032", "0034", "0044", "0060", "0061", "0062", "0068", "0070"],
        ]
        for (component, files) in expected {
            let set = try NightshiftSQL.migrations(component)
            #expect(set.component == component)
            #expect(set.requires == ["engine"])
            #expect(numbers(set) == files, "\(component)")
            #expect(set.files.allSatisfy { $0.name.dropFirst(5).hasPrefix(component) }, "\(component): \(set.files.map(\.name))")
        }
        #expect(NightshiftSQL.components == ["engine", "dossier", "coverage", "portfolio"])
        #expect(throws: MigrationError.self) { try NightshiftSQL.migrations("billing") }
    }

    @Test("the bundle holds exactly the checkout's sql/migrations/<component>/ files, byte for byte, numbers unique across components")
    func matchesCheckout() throws {
        var numbers: [Substring: String] = [:]
        for set in try TestDatabase.projectMigrations() {
            let folder = TestDatabase.projectRoot.appendingPathComponent("sql/migrations/\(set.component)")
            let onDisk = try MigrationFile.load(from: folder.path)
            #expect(set.files == onDisk, "\(set.component): the bundle is stale (rebuild) or the folder changed")
            for file in set.files {
                #expect(numbers[file.name.prefix(4)] == nil, "\(file.name) shares its number with \(numbers[file.name.prefix(4)] ?? "")")
                numbers[file.name.prefix(4)] = file.name
            }
        }
        let folders = try FileManager.default.contentsOfDirectory(
            atPath: TestDatabase.projectRoot.appendingPathComponent("sql/migrations").path)
        #expect(Set(folders) == Set(NightshiftSQL.components), "every file sits in a component folder: \(folders)")
    }
}
