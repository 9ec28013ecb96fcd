import Hummingbird

/// The methods each route pattern answers, read from the router itself: a request whose path
/// matches a route but not its method is answered 405 with `Allow`, not 404.
struct RouteIndex: Sendable {
    private let routes: [(segments: [Substring], method: HTTPRequest.Method)]

    init(_ routes: [Router<BasicRequestContext>.RouteDescription]) {
        self.routes = routes.map { (Self.segments($0.path.description), $0.method) }
    }

    /// The methods any route matching `path` answers, sorted; empty when no route matches.
    func methods(for path: String) -> [HTTPRequest.Method] {
        let request = Self.segments(path)
        let methods = Set(routes.filter { Self.matches($0.segments, request) }.map(\.method.rawValue))
        return methods.sorted().compactMap { HTTPRequest.Method($0) }
    }

    private static func segments(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    /// `{x}`, `:x` and `*` match one segment, `**` the rest; anything else matches itself.
    private static func matches(_ pattern: [Substring], _ path: [Substring]) -> Bool {
        for (index, part) in pattern.enumerated() {
            if part == "**" { return path.count > index }
            guard index < path.count else { return false }
            let wildcard = part == "*" || part.hasPrefix(":") || (part.hasPrefix("{") && part.hasSuffix("}"))
            if !wildcard && part != path[index] { return false }
        }
        return pattern.count == path.count
    }
}
