#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Small allocation-free parsers over a cell's bytes, shared by the decoders.
enum TextParsing {
    /// Parses an optionally signed decimal integer, rejecting overflow and stray characters.
    static func integer<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, as: T.Type = T.self) throws -> T {
        var index = 0
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            index = 1
        }
        guard index < bytes.count else { throw PostgresDecodingFailure("not an integer") }
        var value: T = 0
        while index < bytes.count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { throw PostgresDecodingFailure("not an integer") }
            // Accumulate negatively so T.min parses without overflowing.
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) =
                negative
                ? shifted.subtractingReportingOverflow(T(digit)) : shifted.addingReportingOverflow(T(digit))
            guard !o1, !o2 else { throw PostgresDecodingFailure("integer out of range for \(T.self)") }
            value = next
            index += 1
        }
        return value
    }

    /// Parses exactly `count` digits starting at `index`.
    static func digits(_ bytes: UnsafeRawBufferPointer, at index: Int, count: Int) -> Int? {
        guard index >= 0, index + count <= bytes.count else { return nil }
        var value = 0
        for offset in index..<(index + count) {
            let digit = bytes[offset] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }

    /// Whether the bytes equal an ASCII string, ignoring case.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let pointer = literal.utf8Start
        for index in 0..<bytes.count where bytes[index] | 0x20 != pointer[index] | 0x20 {
            return false
        }
        return true
    }

    /// Parses a float with C-locale strtod, so a process locale with decimal commas cannot change results.
    static func double(_ bytes: UnsafeRawBufferPointer) throws -> Double {
        guard !bytes.isEmpty, bytes.count < 512 else { throw PostgresDecodingFailure("not a number") }
        // strtod needs a NUL terminator; a stack buffer keeps this allocation-free.
        return try withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer in
            for index in 0..<bytes.count { buffer[index] = CChar(bitPattern: bytes[index]) }
            buffer[bytes.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            // strtod_l is a GNU extension Swift's Glibc module hides; switching this thread's locale
            // around strtod is the portable equivalent (a thread-local pointer swap, no allocation).
            let previous = uselocale(cLocale.pointer)
            let value = strtod(buffer.baseAddress!, &end)
            uselocale(previous)
            guard let end, end == buffer.baseAddress! + bytes.count else {
                throw PostgresDecodingFailure("not a number")
            }
            return value
        }
    }

    /// The "C" locale, created once; `locale_t` is an immutable handle after creation.
    private static let cLocale = CLocale()

    /// Holds the C locale handle; libc documents a locale object as safe to use from many threads.
    private final class CLocale: @unchecked Sendable {
        let pointer: locale_t
        // LC_NUMERIC_MASK is a macro Swift cannot import; it is `1 << LC_NUMERIC` on glibc and Darwin.
        init() { pointer = newlocale(Int32(1 << LC_NUMERIC), "C", nil) }
    }
}
