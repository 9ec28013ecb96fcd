import Foundation

/// Allocation-free parsing of PostgreSQL's uuid output.
enum UUIDText {
    static func parse(_ bytes: UnsafeRawBufferPointer) -> UUID? {
        guard bytes.count == 36, bytes[8] == UInt8(ascii: "-"), bytes[13] == UInt8(ascii: "-"),
            bytes[18] == UInt8(ascii: "-"), bytes[23] == UInt8(ascii: "-")
        else { return nil }
        // Two 64-bit halves from the five dash-separated groups; a non-hex digit sets bit 8 of `invalid`.
        var invalid: UInt16 = 0
        let high = hex(bytes, 0, 8, &invalid) << 32 | hex(bytes, 9, 4, &invalid) << 16 | hex(bytes, 14, 4, &invalid)
        let low = hex(bytes, 19, 4, &invalid) << 48 | hex(bytes, 24, 12, &invalid)
        guard invalid & 0x100 == 0 else { return nil }
        let h = high.bigEndian
        let l = low.bigEndian
        return withUnsafeBytes(of: (h, l)) { raw in
            UUID(
                uuid: (
                    raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
                    raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15]
                )
            )
        }
    }

    /// The value of `count` hex digits from `start`, merging non-hex flags into `invalid`.
    @inline(__always)
    private static func hex(
        _ bytes: UnsafeRawBufferPointer,
        _ start: Int,
        _ count: Int,
        _ invalid: inout UInt16
    )
        -> UInt64
    {
        var value: UInt64 = 0
        for index in start..<(start + count) {
            let digit = hexValue(bytes[index])
            invalid |= digit
            value = value << 4 | UInt64(digit & 0xF)
        }
        return value
    }

    /// The digit's value, or 0x100 when the byte is not a hex digit. Branch-free on purpose: uuids are
    /// random, so a digit-or-letter branch mispredicts on about every other character.
    @inline(__always)
    private static func hexValue(_ byte: UInt8) -> UInt16 {
        let digit = UInt16(byte &- UInt8(ascii: "0"))
        let letter = UInt16((byte | 0x20) &- UInt8(ascii: "a"))
        let letterValue = letter < 6 ? letter &+ 10 : 0x100
        return digit < 10 ? digit : letterValue
    }
}

extension UUID {
    /// The canonical lowercase spelling, as PostgreSQL prints a uuid. Written by hand: Foundation's
    /// `uuidString` goes through `snprintf`, which a worker paid several times per run.
    public var lowercasedString: String {
        let bytes = uuid
        return withUnsafeBytes(of: bytes) { raw in
            String(unsafeUninitializedCapacity: 36) { out in
                let digits: StaticString = "0123456789abcdef"
                var position = 0
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        out[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    let byte = raw[index]
                    out[position] = digits.utf8Start[Int(byte >> 4)]
                    out[position + 1] = digits.utf8Start[Int(byte & 0xF)]
                    position += 2
                }
                return position
            }
        }
    }
}
