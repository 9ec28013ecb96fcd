/// The request methods the client sends.
public enum HTTPMethod: String, Sendable, Hashable, CaseIterable {
    /// Fetch a resource.
    case get = "GET"
    /// Submit a body to be processed.
    case post = "POST"
    /// Replace a resource with the body.
    case put = "PUT"
    /// Partially update a resource with the body.
    case patch = "PATCH"
    /// Delete a resource.
    case delete = "DELETE"
    /// Like GET, but the response has no body.
    case head = "HEAD"
}
