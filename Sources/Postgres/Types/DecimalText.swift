import Foundation

/// Exact numeric-text-to-Decimal conversion.
enum DecimalText {
    /// Decimal's mantissa is 128 bits: every 38-digit integer fits, not every 39-digit one.
    static let maximumDigits = 38

    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> Decimal {
        if TextParsing.equalsIgnoringCase(bytes, "NaN") { return .nan }
        var index = 0
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            index = 1
        }
        // Significant digits without leading zeros, accumulated in 128 bits (no allocation);
        // trailing zeros are folded into the exponent.
        var mantissa: UInt128 = 0
        var digitCount = 0
        var exponent = 0
        var seenPoint = false
        var seenDigit = false
        var pendingZeros = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: ".") {
                guard !seenPoint else { throw PostgresDecodingFailure("not a numeric") }
                seenPoint = true
                continue
            }
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else {
                let infinite =
                    TextParsing.equalsIgnoringCase(bytes, "Infinity")
                    || TextParsing.equalsIgnoringCase(bytes, "-Infinity")
                throw PostgresDecodingFailure(
                    infinite ? "numeric infinity cannot be represented as Decimal" : "not a numeric"
                )
            }
            seenDigit = true
            if seenPoint { exponent -= 1 }
            if digit == 0 {
                if digitCount > 0 { pendingZeros += 1 }
                continue
            }
            guard digitCount + pendingZeros + 1 <= maximumDigits else {
                throw PostgresDecodingFailure(
                    "numeric has more than \(maximumDigits) significant digits; decode it as String"
                )
            }
            for _ in 0..<pendingZeros { mantissa *= 10 }
            mantissa = mantissa * 10 + UInt128(digit)
            digitCount += pendingZeros + 1
            pendingZeros = 0
        }
        guard seenDigit else { throw PostgresDecodingFailure("not a numeric") }
        exponent += pendingZeros
        if digitCount == 0 { return Decimal(0) }
        guard exponent >= -128, exponent <= 127 else {
            throw PostgresDecodingFailure("numeric exponent out of Decimal's range; decode it as String")
        }
        // Two halves below 10^19, each exact as UInt64, combined with exact Decimal arithmetic.
        let base: UInt128 = 10_000_000_000_000_000_000
        let high = UInt64(mantissa / base)
        var significand = Decimal(UInt64(mantissa % base))
        if high > 0 {
            significand += Decimal(sign: .plus, exponent: 19, significand: Decimal(high))
        }
        return Decimal(sign: negative ? .minus : .plus, exponent: exponent, significand: significand)
    }
}
