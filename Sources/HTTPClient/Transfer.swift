import CCurl

/// One request's curl easy handle and the response it is collecting.
///
/// Not `Sendable`: it is created, driven and destroyed on the loop thread only. libcurl's C
/// callbacks find it through an unretained `Unmanaged` pointer, which stays valid because
/// `CurlMulti` holds the transfer for as long as its handle is in the multi handle.
final class Transfer {
    /// The id the submitting task uses to cancel.
    let id: UInt64
    /// The easy handle (`CURL *`).
    let handle: UnsafeMutableRawPointer
    /// Raised when the awaiting task is cancelled.
    let cancellation: CancellationFlag
    private let request: HTTPRequest
    private var continuation: CheckedContinuation<HTTPResponse, any Error>?
    /// libcurl writes its detailed error text here; it must outlive the handle's use.
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var body: [UInt8] = []
    private var headers = HTTPHeaders()
    private var exceededLimit = false

    init(_ submission: Submission) {
        guard let handle = curl_easy_init() else { preconditionFailure("curl_easy_init failed (out of memory)") }
        self.handle = handle
        id = submission.id
        cancellation = submission.cancellation
        request = submission.request
        continuation = submission.continuation
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(to: 0)
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
        // Never leave an awaiting task hanging, whatever path dropped the transfer.
        continuation?.resume(throwing: error(.cancelled, "the transfer was dropped without finishing"))
    }

    /// Applies the request to the easy handle; fails with `.invalidRequest` before anything is sent.
    func configure() throws(HTTPClientError) {
        try validate()
        // Only HTTP(S), also after redirects: no file://, gopher:// or other surprises from a URL or a Location.
        try set(CURLOPT_URL, request.url)
        try set(CURLOPT_PROTOCOLS_STR, "http,https")
        try set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        // Signals (alarm-based DNS timeouts) are not safe in a multi-threaded process.
        try set(CURLOPT_NOSIGNAL, 1)
        try check(ns_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        try set(CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeout.curlMilliseconds)
        try set(CURLOPT_TIMEOUT_MS, request.timeout.curlMilliseconds)
        try set(CURLOPT_SSL_VERIFYPEER, request.verifyTLS ? 1 : 0)
        try set(CURLOPT_SSL_VERIFYHOST, request.verifyTLS ? 2 : 0)
        try set(CURLOPT_FOLLOWLOCATION, request.maxRedirects > 0 ? 1 : 0)
        try set(CURLOPT_MAXREDIRS, request.maxRedirects)
        // Every encoding curl can decode; the size cap then applies to decoded bytes (no zip bombs).
        try set(CURLOPT_ACCEPT_ENCODING, "")
        // Refuses up front when Content-Length already exceeds the cap; the write callback covers the rest.
        try check(ns_easy_setopt_off_t(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(request.maxResponseBytes)))
        try configureMethodAndBody()
        try configureHeaders()
        try configureCallbacks()
    }

    /// Reports curl's result for this transfer to the awaiting task.
    func complete(_ code: CURLcode) {
        let status = responseStatus()
        guard code == CURLE_OK else {
            return resume(throwing: failure(for: code, status: status))
        }
        if request.throwOnErrorStatus && !(200...399).contains(status) {
            return resume(throwing: HTTPClientError(
                kind: .status(status),
                method: request.method,
                url: request.url,
                status: status,
                body: body,
                message: "the server answered \(status)",
                retryAfter: retryAfter(status: status)
            ))
        }
        resume(returning: HTTPResponse(status: status, headers: headers, body: body, method: request.method, url: request.url))
    }

    /// Fails the awaiting task without a curl result (cancellation, shutdown, bad request).
    func fail(_ error: any Error) {
        resume(throwing: error)
    }

    /// Fails the awaiting task with an error of this kind about this request.
    func fail(kind: HTTPClientError.Kind, _ message: String) {
        resume(throwing: error(kind, message))
    }

    // MARK: Configuration

    private func validate() throws(HTTPClientError) {
        if request.timeout <= .zero || request.connectTimeout <= .zero {
            throw error(.invalidRequest, "timeouts must be positive")
        }
        if request.maxResponseBytes < 0 || request.maxRedirects < 0 {
            throw error(.invalidRequest, "maxResponseBytes and maxRedirects must not be negative")
        }
        for field in request.headers {
            if field.name.isEmpty || !field.name.utf8.allSatisfy(\.isHeaderTokenByte) {
                throw error(.invalidRequest, "invalid header name \"\(field.name)\"")
            }
            // Bytes, not Characters: "\r\n" is one Character. A CR or LF would let a value inject header lines.
            if field.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) {
                throw error(.invalidRequest, "header \(field.name) has a line break or NUL in its value")
            }
        }
    }

    private func configureMethodAndBody() throws(HTTPClientError) {
        let method = request.method
        let sendsBody = !request.body.isEmpty || [.post, .put, .patch].contains(method)
        if method == .head {
            try set(CURLOPT_NOBODY, 1)
        } else if sendsBody {
            try check(ns_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
            // COPYPOSTFIELDS copies the bytes now; a NULL pointer would make curl read the body from stdin.
            var empty: UInt8 = 0
            let code = request.body.withUnsafeBytes { bytes in
                withUnsafeMutablePointer(to: &empty) { emptyPointer in
                    ns_easy_setopt_pointer(
                        handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress) ?? UnsafeMutableRawPointer(emptyPointer))
                }
            }
            try check(code)
            if method != .post { try set(CURLOPT_CUSTOMREQUEST, method.rawValue) }
        } else if method == .get {
            try set(CURLOPT_HTTPGET, 1)
        } else {
            try set(CURLOPT_CUSTOMREQUEST, method.rawValue)
        }
    }

    private func configureHeaders() throws(HTTPClientError) {
        var lines = request.headers.map { $0.value.isEmpty ? "\($0.name);" : "\($0.name): \($0.value)" }
        // The body is already in memory: waiting for "100 Continue" only adds a round trip (or a 1 s stall).
        if !request.headers.contains("Expect") { lines.append("Expect:") }
        // curl would label a raw body application/x-www-form-urlencoded; send no type rather than a wrong one.
        if !request.headers.contains("Content-Type") { lines.append("Content-Type:") }
        for line in lines {
            guard let list = curl_slist_append(headerList, line) else {
                throw error(.invalidRequest, "out of memory building headers")
            }
            headerList = list
        }
        try check(ns_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))
    }

    private func configureCallbacks() throws(HTTPClientError) {
        let userdata = Unmanaged.passUnretained(self).toOpaque()
        try check(ns_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, userdata))
        try check(ns_easy_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION) { data, size, count, userdata in
            guard let data, let userdata else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
            return transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
        })
        try check(ns_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, userdata))
        try check(ns_easy_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION) { data, size, count, userdata in
            guard let data, let userdata else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
            transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        })
    }

    private func set(_ option: CURLoption, _ value: Int) throws(HTTPClientError) {
        try check(ns_easy_setopt_long(handle, option, value))
    }

    private func set(_ option: CURLoption, _ value: String) throws(HTTPClientError) {
        // libcurl copies string options (all but POSTFIELDS), so the temporary C string may go away.
        try check(ns_easy_setopt_string(handle, option, value))
    }

    private func check(_ code: CURLcode) throws(HTTPClientError) {
        guard code == CURLE_OK else {
            throw error(.invalidRequest, "curl rejected an option: \(Curl.describe(code))")
        }
    }

    // MARK: Callbacks (loop thread, inside curl_multi_perform)

    /// Appends body bytes, or returns 0 to make curl abort once the cap would be exceeded.
    private func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard body.count + bytes.count <= request.maxResponseBytes else {
            exceededLimit = true
            return 0
        }
        body.append(contentsOf: bytes)
        return bytes.count
    }

    /// Records one header line; a status line starts a new response (after 1xx or a followed redirect).
    private func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        let line = String(decoding: bytes, as: UTF8.self).trimmingLineEnd()
        if line.hasPrefix("HTTP/") {
            headers = HTTPHeaders()
            body = []
        } else if let first = line.first, first == " " || first == "\t", let last = headers.fields.last {
            // An obsolete folded continuation line belongs to the previous field.
            headers.set(last.name, last.value + " " + line.trimmingSpaces())
        } else if let colon = line.firstIndex(of: ":") {
            headers.add(String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingSpaces())
        }
    }

    // MARK: Results

    private func responseStatus() -> Int {
        var status = 0
        _ = ns_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return status
    }

    private func failure(for code: CURLcode, status: Int) -> HTTPClientError {
        let detail = String(cString: errorBuffer)
        let kind = Self.kind(for: code, exceededLimit: exceededLimit)
        let message = kind == .responseTooLarge
            ? "the response body exceeded maxResponseBytes (\(request.maxResponseBytes) bytes)"
            : Curl.describe(code)
        return HTTPClientError(
            kind: kind,
            method: request.method,
            url: request.url,
            status: status > 0 ? status : nil,
            body: body,
            message: message,
            curlMessage: detail
        )
    }

    static func kind(for code: CURLcode, exceededLimit: Bool) -> HTTPClientError.Kind {
        switch code {
        case CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT:
            .connect
        case CURLE_OPERATION_TIMEDOUT:
            .timeout
        case CURLE_FILESIZE_EXCEEDED:
            .responseTooLarge
        case CURLE_WRITE_ERROR where exceededLimit:
            .responseTooLarge
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
            CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT:
            .tls
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_BAD_FUNCTION_ARGUMENT:
            .invalidRequest
        default:
            .transport(Int(code.rawValue))
        }
    }

    /// `Retry-After` in delay-seconds form, only where it means "come back later" (429, 503).
    private func retryAfter(status: Int) -> Duration? {
        guard status == 429 || status == 503, let value = headers["Retry-After"], let seconds = Int(value), seconds >= 0
        else { return nil }
        return .seconds(seconds)
    }

    private func error(_ kind: HTTPClientError.Kind, _ message: String) -> HTTPClientError {
        HTTPClientError(kind: kind, method: request.method, url: request.url, message: message)
    }

    private func resume(returning response: HTTPResponse) {
        continuation?.resume(returning: response)
        continuation = nil
    }

    private func resume(throwing error: any Error) {
        continuation?.resume(throwing: error)
        continuation = nil
    }
}

extension UInt8 {
    /// RFC 9110 `tchar`: the bytes a header name may contain.
    fileprivate var isHeaderTokenByte: Bool {
        switch self {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(self)
        }
    }
}

extension String {
    /// Without a trailing CR LF.
    fileprivate func trimmingLineEnd() -> String {
        var line = Substring(self)
        while let last = line.last, last == "\r\n" || last == "\n" || last == "\r" { line = line.dropLast() }
        return String(line)
    }

    /// Without leading and trailing spaces and tabs.
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
