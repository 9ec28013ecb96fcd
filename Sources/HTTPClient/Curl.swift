import CCurl

/// Process-wide libcurl set-up and small conversions shared by the loop and its transfers.
enum Curl {
    /// `curl_global_init` is not thread-safe and must run once before any handle exists;
    /// a `static let` runs its initialiser exactly once, under Swift's own once-lock.
    private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

    /// Initialises libcurl once per process; a failure here means the process cannot do HTTP at all.
    static func initializeOnce() {
        precondition(globalInit == CURLE_OK, "curl_global_init failed: \(describe(globalInit))")
    }

    /// libcurl's fixed English text for a result code.
    static func describe(_ code: CURLcode) -> String {
        String(cString: curl_easy_strerror(code))
    }

    /// libcurl's fixed English text for a multi-interface result code.
    static func describe(_ code: CURLMcode) -> String {
        String(cString: curl_multi_strerror(code))
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so a tiny positive timeout never becomes 0 ("no timeout" to curl).
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(clamping: max(millis, 1))
    }
}
