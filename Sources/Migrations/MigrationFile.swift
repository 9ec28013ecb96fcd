import Foundation

/// One migration file: `NNNN_area_what.sql`, applied in name order within its component
/// (`sql/migrations/<component>/`, a `MigrationSet`).
public struct MigrationFile: Sendable, Equatable {
    /// The file name, which with its component is its key in `nightshift.schema_migrations`.
    public let name: String
    /// The file's text, applied statement by statement in one transaction; its sha256 is the recorded checksum.
    public let sql: String

    /// A migration from its name and text (tests, or SQL that does not come from a folder).
    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
    }

    /// Every migration in `directory`, in the order they apply. Any other `.sql` name is refused
    /// so that a misnamed file cannot silently change the order.
    public static func load(from directory: String) throws -> [MigrationFile] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw MigrationError(file: directory, problem: "cannot read the migrations folder: \(error.localizedDescription)")
        }
        var files: [MigrationFile] = []
        var seenNumbers: [Substring: String] = [:]
        for name in names.sorted() where name.hasSuffix(".sql") {
            guard name.wholeMatch(of: /[0-9]{4}_[a-z0-9_]+\.sql/) != nil else {
                throw MigrationError(file: name, problem: "migration names must look like 0001_area_what.sql")
            }
            let number = name.prefix(4)
            if let other = seenNumbers[number] {
                throw MigrationError(file: name, problem: "shares its number \(number) with \(other)")
            }
            seenNumbers[number] = name
            let path = (directory as NSString).appendingPathComponent(name)
            let sql: String
            do {
                sql = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw MigrationError(file: name, problem: "cannot be read: \(error.localizedDescription)")
            }
            files.append(MigrationFile(name: name, sql: sql))
        }
        return files
    }
}
