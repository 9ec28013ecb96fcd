import Foundation
import HTTPClient

#if canImport(Glibc)
import Glibc
#endif

/// Helpers for tests that need a client, a port nobody listens on, or a clock.
enum Loopback {
    /// A loopback port that was free a moment ago and has no listener: connecting is refused.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
        // Bound but never listening, then closed: nothing will accept on this port.
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Seconds `body` took, and what it returned or threw.
    static func timed<T: Sendable>(_ body: () async throws -> T) async -> (Result<T, any Error>, seconds: Double) {
        let start = ContinuousClock.now
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        let elapsed = ContinuousClock.now - start
        return (result, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}

/// Runs `body` with a fresh client and shuts the client down afterwards, whatever happened.
func withClient<T: Sendable>(_ body: (HTTPClient) async throws -> T) async throws -> T {
    let client = HTTPClient()
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}
