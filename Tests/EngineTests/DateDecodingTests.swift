import Foundation
import Testing

@testable import Engine

/// Step outputs and payloads are stored as JSON with ISO 8601 dates: PostgreSQL prints whole
/// seconds without a fraction, Swift's encoder with one. Both must decode.
@Suite("ISO 8601 dates in stored JSON")
struct DateDecodingTests {
    struct Stamped: Decodable {
        var at: Date
    }

    @Test("a date with and without fractional seconds decodes; anything else names the text")
    func bothForms() throws {
        let whole = try JSONDecoder.nightshift.decode(Stamped.self, from: Data(#"{"at":"2026-12-06T05:00:00Z"}"#.utf8))
        let fraction = try JSONDecoder.nightshift.decode(Stamped.self, from: Data(#"{"at":"2026-12-06T05:00:00.250Z"}"#.utf8))
        #expect(whole.at == Date(timeIntervalSince1970: 1_796_533_200))
        #expect(abs(fraction.at.timeIntervalSince(whole.at) - 0.25) < 0.000_001)
        #expect(throws: DecodingError.self) {
            try JSONDecoder.nightshift.decode(Stamped.self, from: Data(#"{"at":"yesterday"}"#.utf8))
        }
    }
}
