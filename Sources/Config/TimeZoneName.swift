import Foundation

/// Whether `name` is an IANA time zone name Foundation knows (`Asia/Riyadh`, `UTC`): the check
/// behind every `timezone` key, before the database is asked.
public func isKnownTimeZone(_ name: String) -> Bool {
    !name.isEmpty && !name.contains(where: \.isWhitespace) && TimeZone(identifier: name) != nil
}
