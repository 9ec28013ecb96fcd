import ArgumentParser
import Foundation
import Migrations

/// Where the migrations come from: the ones built into the binary (`BundledMigrations`), or, for
/// development, a folder of component folders (`--migrations-dir sql/migrations`).
struct MigrationSourceOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Read each component's migrations from DIR/<component>/*.sql instead of the ones built into the binary (development).",
            valueName: "dir"))
    var migrationsDir: String?

    /// Every set this binary knows; with --migrations-dir, the same components and requirements
    /// with their files read from the folder (a component folder the binary does not know is refused).
    func all() throws -> [MigrationSet] {
        let bundled = try BundledMigrations.all()
        guard let migrationsDir else { return bundled }
        let directory = URL(fileURLWithPath: migrationsDir, isDirectory: true)
        let known = Set(bundled.map(\.component))
        let folders = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
        if let stranger = folders.sorted().first(where: { !known.contains($0) }) {
            throw ValidationError(
                "--migrations-dir: \(directory.appendingPathComponent(stranger).path) is not a component this binary knows "
                    + "(known: \(bundled.map(\.component).joined(separator: ", ")))")
        }
        return try bundled.map { set in
            try MigrationSet.load(component: set.component, requires: set.requires, from: directory.appendingPathComponent(set.component))
        }
    }
}

/// `--only`: some components, with what they require.
struct ComponentSelection: ParsableArguments {
    @Option(
        name: .customLong("only"),
        help: ArgumentHelp(
            "Only this component and the components it requires (repeatable, or comma-separated: --only engine, --only PACK1,PACK2).",
            valueName: "component"))
    var only: [String] = []

    /// The names given, or nil for every component.
    var names: Set<String>? {
        let names = only.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return only.isEmpty ? nil : Set(names)
    }

    /// `sets` in the order they apply, narrowed to --only; an unknown name is a usage error that
    /// lists the known ones.
    func select(from sets: [MigrationSet]) throws -> [MigrationSet] {
        if names?.isEmpty == true { throw ValidationError("--only: name a component") }
        if let names, let unknown = names.sorted().first(where: { name in !sets.contains { $0.component == name } }) {
            throw ValidationError(
                "--only: no component is named \(unknown) (known: \(sets.map(\.component).joined(separator: ", ")))")
        }
        return try MigrationSet.ordered(sets, only: names)
    }
}
