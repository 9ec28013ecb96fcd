import Engine
import Foundation
import Hummingbird
import Postgres

/// The one response shape of every endpoint: `{"data": …, "error": null}` on success,
/// `{"data": null, "error": {"code", "message"}}` on failure.
public struct Envelope<Payload: Encodable & Sendable>: Encodable, Sendable {
    /// The error half of the envelope.
    public struct ErrorBody: Encodable, Sendable {
        /// A stable machine-readable code (``APIError/code``) that clients may branch on.
        public let code: String
        /// A sentence for a person: what was wrong and where.
        public let message: String
        /// Further facts beside code and message (e.g. the conflicting job's `job_id`).
        public var details: [String: String] = [:]

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(code, forKey: Key("code"))
            try container.encode(message, forKey: Key("message"))
            for (key, value) in details where key != "code" && key != "message" {
                try container.encode(value, forKey: Key(key))
            }
        }

        private struct Key: CodingKey {
            let stringValue: String
            init(_ string: String) { stringValue = string }
            init?(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }
    }

    /// The answer; null on an error.
    public let data: Payload?
    /// The error; null on success.
    public let error: ErrorBody?

    // Explicit so that a nil field is written as null rather than left out.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(data, forKey: .data)
        try container.encode(error, forKey: .error)
    }

    private enum CodingKeys: String, CodingKey { case data, error }
}

extension Envelope where Payload == Empty {
    static func failure(_ error: APIError) -> Envelope<Empty> {
        Envelope(data: nil, error: ErrorBody(code: error.code, message: error.message, details: error.details))
    }
}

/// A payload that is never present (the data half of an error envelope).
public struct Empty: Encodable, Sendable {}

/// Builds JSON responses in the envelope: `{"data": …, "error": null}`.
public enum JSONResponse {
    // Lower-case UUIDs, as PostgreSQL writes them: one id reads the same in every answer.
    static let encoder: JSONEncoder = {
        let encoder = LowercaseUUIDJSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static func make(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let data = (try? encoder.encode(value)) ?? Data(#"{"data":null,"error":{"code":"internal","message":"response could not be encoded"}}"#.utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `data` in a success envelope, encoded with sorted keys and ISO 8601 dates.
    public static func success(_ data: some Encodable & Sendable, status: HTTPResponse.Status = .ok) -> Response {
        make(status, Envelope(data: data, error: nil))
    }

    /// `value` in a success envelope, and, when it is an object, its fields at the top level too:
    /// `{"overdueCount": 2, …, "data": {"overdueCount": 2, …}, "error": null}`. Fields named
    /// `data` or `error` stay only inside `data`.
    public static func successWithFieldsAtTopLevel(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        make(status, FieldsBesideEnvelope(value: value))
    }

    static func failure(_ error: APIError) -> Response {
        var response = make(error.status, Envelope<Empty>.failure(error))
        response.headers.append(contentsOf: error.headers)
        return response
    }
}

/// A success envelope whose object's fields are also written beside `data` and `error`.
struct FieldsBesideEnvelope: Encodable, Sendable {
    let value: JSONValue

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        if case .object(let fields) = value {
            for (key, field) in fields where key != "data" && key != "error" {
                try container.encode(field, forKey: Key(key))
            }
        }
        try container.encode(value, forKey: Key("data"))
        try container.encodeNil(forKey: Key("error"))
    }

    private struct Key: CodingKey {
        let stringValue: String
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
}

/// A success envelope around JSON text that is already serialised.
public enum RawJSON {
    /// `json` as the envelope's data, unparsed: decimal strings stay exact, nothing is decoded twice.
    public static func success(_ json: String, status: HTTPResponse.Status = .ok) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(#"{"data":"#)
        buffer.writeString(json)
        buffer.writeString(#","error":null}"#)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: ResponseBody(byteBuffer: buffer))
    }
}
