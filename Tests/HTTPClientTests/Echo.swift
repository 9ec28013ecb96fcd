/// What the test server's `/echo` route answers: the request as the server saw it.
struct Echo: Codable, Sendable {
    /// The request method.
    var method: String
    /// Header fields keyed by lowercased name; repeated fields joined with ", ".
    var headers: [String: String]
    /// The request body as UTF-8.
    var body: String
}
