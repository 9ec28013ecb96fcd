import ArgumentParser

/// `nightshift version`.
struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")

    func run() {
        print("nightshift \(Nightshift.version)")
    }
}
