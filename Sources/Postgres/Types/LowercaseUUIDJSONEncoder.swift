import Foundation

/// A `JSONEncoder` that writes every `UUID` lower-case, at any depth of the value: Foundation's
/// `UUID` encodes its upper-case `uuidString`, while PostgreSQL, the SQL functions' JSON and
/// the API's clients use lower-case. Everything else is `JSONEncoder`'s own encoding (dates,
/// data and decimals by its strategies, keys sorted when asked).
///
/// `@unchecked Sendable` as `JSONEncoder` itself is declared (its options are lock-protected):
/// this subclass adds no stored state, and `encode` builds everything it uses per call.
public final class LowercaseUUIDJSONEncoder: JSONEncoder, @unchecked Sendable {
    /// Encodes `value` with every UUID in it lower-case.
    public override func encode<T: Encodable>(_ value: T) throws -> Data {
        try super.encode(LowercasingUUIDs(value))
    }
}

/// Encodes its value as the value would, through an encoder that writes UUIDs lower-case.
struct LowercasingUUIDs<Value: Encodable>: Encodable {
    let value: Value
    init(_ value: Value) { self.value = value }

    func encode(to encoder: any Encoder) throws {
        // The types JSONEncoder encodes by itself (by strategy, or as a scalar) go to it as they
        // are: wrapped, a Date would encode its own Double instead of the date strategy's form.
        switch value {
        case let uuid as UUID:
            var container = encoder.singleValueContainer()
            try container.encode(uuid.lowercasedString)
        case let date as Date: var container = encoder.singleValueContainer(); try container.encode(date)
        case let data as Data: var container = encoder.singleValueContainer(); try container.encode(data)
        case let decimal as Decimal: var container = encoder.singleValueContainer(); try container.encode(decimal)
        case let url as URL: var container = encoder.singleValueContainer(); try container.encode(url)
        case let string as String: var container = encoder.singleValueContainer(); try container.encode(string)
        case let bool as Bool: var container = encoder.singleValueContainer(); try container.encode(bool)
        case let int as Int: var container = encoder.singleValueContainer(); try container.encode(int)
        case let double as Double: var container = encoder.singleValueContainer(); try container.encode(double)
        default: try value.encode(to: UUIDLowercasingEncoder(base: encoder))
        }
    }
}

/// Forwards to JSONEncoder's encoder; every nested value it is given goes back through
/// ``LowercasingUUIDs``.
private struct UUIDLowercasingEncoder: Encoder {
    let base: any Encoder
    var codingPath: [any CodingKey] { base.codingPath }
    var userInfo: [CodingUserInfoKey: Any] { base.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedLowercasing(base: base.container(keyedBy: type)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedLowercasing(base: base.unkeyedContainer())
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueLowercasing(base: base.singleValueContainer())
    }
}

private struct KeyedLowercasing<Key: CodingKey>: KeyedEncodingContainerProtocol {
    var base: KeyedEncodingContainer<Key>
    var codingPath: [any CodingKey] { base.codingPath }

    mutating func encodeNil(forKey key: Key) throws { try base.encodeNil(forKey: key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try base.encode(value, forKey: key) }
    mutating func encode(_ value: String, forKey key: Key) throws { try base.encode(value, forKey: key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try base.encode(value, forKey: key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try base.encode(value, forKey: key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try base.encode(value, forKey: key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try base.encode(value, forKey: key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try base.encode(value, forKey: key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try base.encode(value, forKey: key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try base.encode(value, forKey: key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try base.encode(value, forKey: key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try base.encode(value, forKey: key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try base.encode(value, forKey: key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try base.encode(value, forKey: key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try base.encode(value, forKey: key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try base.encode(LowercasingUUIDs(value), forKey: key) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(KeyedLowercasing<NestedKey>(base: base.nestedContainer(keyedBy: keyType, forKey: key)))
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        UnkeyedLowercasing(base: base.nestedUnkeyedContainer(forKey: key))
    }
    mutating func superEncoder() -> any Encoder { UUIDLowercasingEncoder(base: base.superEncoder()) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { UUIDLowercasingEncoder(base: base.superEncoder(forKey: key)) }
}

private struct UnkeyedLowercasing: UnkeyedEncodingContainer {
    var base: any UnkeyedEncodingContainer
    var codingPath: [any CodingKey] { base.codingPath }
    var count: Int { base.count }

    mutating func encodeNil() throws { try base.encodeNil() }
    mutating func encode(_ value: Bool) throws { try base.encode(value) }
    mutating func encode(_ value: String) throws { try base.encode(value) }
    mutating func encode(_ value: Double) throws { try base.encode(value) }
    mutating func encode(_ value: Float) throws { try base.encode(value) }
    mutating func encode(_ value: Int) throws { try base.encode(value) }
    mutating func encode(_ value: Int8) throws { try base.encode(value) }
    mutating func encode(_ value: Int16) throws { try base.encode(value) }
    mutating func encode(_ value: Int32) throws { try base.encode(value) }
    mutating func encode(_ value: Int64) throws { try base.encode(value) }
    mutating func encode(_ value: UInt) throws { try base.encode(value) }
    mutating func encode(_ value: UInt8) throws { try base.encode(value) }
    mutating func encode(_ value: UInt16) throws { try base.encode(value) }
    mutating func encode(_ value: UInt32) throws { try base.encode(value) }
    mutating func encode(_ value: UInt64) throws { try base.encode(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try base.encode(LowercasingUUIDs(value)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(KeyedLowercasing<NestedKey>(base: base.nestedContainer(keyedBy: keyType)))
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { UnkeyedLowercasing(base: base.nestedUnkeyedContainer()) }
    mutating func superEncoder() -> any Encoder { UUIDLowercasingEncoder(base: base.superEncoder()) }
}

private struct SingleValueLowercasing: SingleValueEncodingContainer {
    var base: any SingleValueEncodingContainer
    var codingPath: [any CodingKey] { base.codingPath }

    mutating func encodeNil() throws { try base.encodeNil() }
    mutating func encode(_ value: Bool) throws { try base.encode(value) }
    mutating func encode(_ value: String) throws { try base.encode(value) }
    mutating func encode(_ value: Double) throws { try base.encode(value) }
    mutating func encode(_ value: Float) throws { try base.encode(value) }
    mutating func encode(_ value: Int) throws { try base.encode(value) }
    mutating func encode(_ value: Int8) throws { try base.encode(value) }
    mutating func encode(_ value: Int16) throws { try base.encode(value) }
    mutating func encode(_ value: Int32) throws { try base.encode(value) }
    mutating func encode(_ value: Int64) throws { try base.encode(value) }
    mutating func encode(_ value: UInt) throws { try base.encode(value) }
    mutating func encode(_ value: UInt8) throws { try base.encode(value) }
    mutating func encode(_ value: UInt16) throws { try base.encode(value) }
    mutating func encode(_ value: UInt32) throws { try base.encode(value) }
    mutating func encode(_ value: UInt64) throws { try base.encode(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try base.encode(LowercasingUUIDs(value)) }
}
