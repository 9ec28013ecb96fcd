/// A table of `config.toml` that a pack (or an application) reads for itself: `[billing]`,
/// `[reports]`. The core config knows none of them by name; ``NightshiftConfig/load(path:environment:sections:)``
/// is given their types, reads each table through a ``TOMLSection``, refuses keys it left
/// unread, and refuses a top-level table no section type claims.
public protocol ConfigSection: Sendable, Equatable {
    /// The table's name: `billing` reads `[billing]`.
    static var name: String { get }
    /// The settings when the file has no such table.
    init()
    /// Reads the table's keys with the section's typed getters (every error names the key).
    init(reading section: inout TOMLSection) throws
    /// Applies the environment variables this section honours, after the file was read. A
    /// pack's variables may also set its own jobs' overrides (`BILLING_JOB_CRON`).
    mutating func applyEnvironment(_ environment: ConfigEnvironment, jobs: inout [String: JobSettings]) throws
    /// Checks what no single key can; `source` is the config file, for errors.
    func validate(source: String) throws
}

extension ConfigSection {
    /// Honours no environment variable: override it when the pack has some.
    public mutating func applyEnvironment(_ environment: ConfigEnvironment, jobs: inout [String: JobSettings]) throws {}
    /// Checks nothing beyond the typed getters: override it for rules across keys.
    public func validate(source: String) throws {}

    /// Equality through the existential: the same type and equal values.
    func isEqual(to other: any ConfigSection) -> Bool {
        (other as? Self) == self
    }
}

extension NightshiftConfig {
    /// The settings of section type `S`: what the file and the environment said, or its
    /// defaults when the config was loaded without that type or the file has no such table.
    public func section<S: ConfigSection>(_ type: S.Type) -> S {
        sections[S.name] as? S ?? S()
    }

    /// Replaces the settings of one section (tests and benchmarks point a pack elsewhere).
    public mutating func setSection<S: ConfigSection>(_ value: S) {
        sections[S.name] = value
    }
}
