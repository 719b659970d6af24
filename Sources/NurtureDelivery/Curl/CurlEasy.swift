import CCurl

/// One libcurl easy handle with a safe Swift API: one transfer at a time, its options and
/// its buffers.
///
/// This and ``CurlMulti`` are the only types in Nurture that touch raw pointers. It is not
/// thread-safe: only the thread of the ``CurlTransferPool`` that owns it uses it. Its
/// transfers run inside a ``CurlMulti``, whose cache keeps the connections open between
/// transfers.
final class CurlEasy {
    /// libcurl's handle; ``CurlMulti`` adds it to and removes it from the multi handle.
    let handle: UnsafeMutableRawPointer
    private let io: TransferIO
    private let errorBuffer: UnsafeMutablePointer<CChar>
    /// Lists handed to libcurl, which keeps pointers to them until replaced or cleaned up.
    private var lists: [UInt32: UnsafeMutablePointer<curl_slist>] = [:]

    /// Creates a handle with Nurture's defaults: no signals (threads), no progress meter,
    /// response lines and body captured for the caller.
    init() {
        CurlEasy.globalInit
        guard let handle = curl_easy_init() else {
            fatalError("curl_easy_init failed: libcurl could not allocate a handle")
        }
        self.handle = handle
        self.io = TransferIO()
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let context = Unmanaged.passUnretained(io).toOpaque()
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_NOPROGRESS, 1)
        _ = nurture_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        _ = nurture_curl_setopt_callback(handle, CURLOPT_READFUNCTION, readCallback)
        _ = nurture_curl_setopt_pointer(handle, CURLOPT_READDATA, context)
        _ = nurture_curl_setopt_callback(handle, CURLOPT_WRITEFUNCTION, writeCallback)
        _ = nurture_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
        _ = nurture_curl_setopt_callback(handle, CURLOPT_HEADERFUNCTION, headerCallback)
        _ = nurture_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
    }

    deinit {
        curl_easy_cleanup(handle)
        for list in lists.values { curl_slist_free_all(list) }
        errorBuffer.deallocate()
    }

    /// `curl_global_init` must run once, before any other thread uses libcurl.
    static let globalInit: Void = {
        let code = curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        precondition(code == CURLE_OK, "curl_global_init failed with code \(code.rawValue)")
    }()

    /// The libcurl version string, e.g. `libcurl/7.88.1 OpenSSL/3.0.17 ...`.
    static var version: String {
        globalInit
        return String(cString: curl_version())
    }

    // MARK: Options

    /// Sets a numeric option (`long` in C).
    func set(_ option: CURLoption, _ value: Int) {
        check(nurture_curl_setopt_long(handle, option, value), option)
    }

    /// Sets a 64-bit size option (`curl_off_t` in C).
    func set(_ option: CURLoption, size value: Int64) {
        check(nurture_curl_setopt_off(handle, option, curl_off_t(value)), option)
    }

    /// Sets a string option; libcurl copies the string. `nil` clears it.
    func set(_ option: CURLoption, _ value: String?) {
        if let value {
            check(value.withCString { nurture_curl_setopt_string(handle, option, $0) }, option)
        } else {
            check(nurture_curl_setopt_string(handle, option, nil), option)
        }
    }

    /// Sets a list option (`struct curl_slist *`), e.g. recipients or HTTP headers.
    func set(_ option: CURLoption, list values: [String]) {
        var list: UnsafeMutablePointer<curl_slist>?
        for value in values {
            guard let next = curl_slist_append(list, value) else {
                fatalError("curl_slist_append failed: out of memory")
            }
            list = next
        }
        check(nurture_curl_setopt_slist(handle, option, list), option)
        if let old = lists.removeValue(forKey: option.rawValue) { curl_slist_free_all(old) }
        if let list { lists[option.rawValue] = list }
    }

    /// The bytes the next transfer uploads (SMTP DATA, HTTP POST body).
    func setRequestBody(_ bytes: [UInt8]) {
        io.upload = bytes
        io.uploadOffset = 0
    }

    // MARK: Transfer

    /// Clears what the previous transfer left, before the handle is added to a multi handle.
    func beginTransfer() {
        io.uploadOffset = 0
        io.headerLines.removeAll(keepingCapacity: true)
        io.body.removeAll(keepingCapacity: true)
        errorBuffer[0] = 0
    }

    /// The outcome of the transfer that libcurl reported done with `code`.
    func finishTransfer(_ code: CURLcode) -> CurlResponse {
        var responseCode = 0
        _ = nurture_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &responseCode)
        var errorText = String(cString: errorBuffer)
        if errorText.isEmpty, code != CURLE_OK { errorText = String(cString: curl_easy_strerror(code)) }
        return CurlResponse(
            code: CurlCode(code.rawValue), errorText: errorText, responseCode: responseCode,
            headerLines: io.headerLines, body: io.body
        )
    }

    private func check(_ code: CURLcode, _ option: CURLoption) {
        // Setting an option only fails for an unknown option or out of memory: programming errors.
        precondition(code == CURLE_OK, "curl_easy_setopt(\(option.rawValue)) failed: \(String(cString: curl_easy_strerror(code)))")
    }
}

/// The outcome of one transfer, copied out of libcurl.
struct CurlResponse: Sendable {
    /// libcurl's result code (`CURLE_OK` is 0).
    var code: CurlCode
    /// libcurl's error message, empty on success.
    var errorText: String
    /// The last SMTP reply code or HTTP status (`CURLINFO_RESPONSE_CODE`), 0 when none.
    var responseCode: Int
    /// SMTP: every reply line of the dialog. HTTP: the response header lines.
    var headerLines: [String]
    /// HTTP response body (truncated to ``TransferIO/maxBody``).
    var body: [UInt8]
}

/// libcurl result codes that Nurture classifies.
struct CurlCode: Equatable, Sendable, CustomStringConvertible {
    var rawValue: UInt32
    init(_ rawValue: UInt32) { self.rawValue = rawValue }

    static let ok = CurlCode(CURLE_OK.rawValue)
    static let unsupportedProtocol = CurlCode(CURLE_UNSUPPORTED_PROTOCOL.rawValue)
    static let malformedURL = CurlCode(CURLE_URL_MALFORMAT.rawValue)
    static let loginDenied = CurlCode(CURLE_LOGIN_DENIED.rawValue)
    static let useSSLFailed = CurlCode(CURLE_USE_SSL_FAILED.rawValue)
    static let peerFailedVerification = CurlCode(CURLE_PEER_FAILED_VERIFICATION.rawValue)
    static let sslConnectError = CurlCode(CURLE_SSL_CONNECT_ERROR.rawValue)
    static let sslCACert = CurlCode(CURLE_SSL_CACERT_BADFILE.rawValue)

    var description: String { String(cString: curl_easy_strerror(CURLcode(rawValue))) }
}

/// Buffers shared with libcurl's callbacks through their `userdata` pointer.
private final class TransferIO {
    static let maxBody = 64 * 1024
    var upload: [UInt8] = []
    var uploadOffset = 0
    var headerLines: [String] = []
    var body: [UInt8] = []
}

private let readCallback: nurture_curl_io_callback = { buffer, size, count, userdata in
    guard let buffer, let userdata else { return 0 }
    let io = Unmanaged<TransferIO>.fromOpaque(userdata).takeUnretainedValue()
    let remaining = io.upload.count - io.uploadOffset
    let n = min(size * count, remaining)
    if n > 0 {
        io.upload.withUnsafeBytes { source in
            UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + io.uploadOffset, byteCount: n)
        }
        io.uploadOffset += n
    }
    return n
}

private let writeCallback: nurture_curl_io_callback = { buffer, size, count, userdata in
    guard let buffer, let userdata else { return 0 }
    let io = Unmanaged<TransferIO>.fromOpaque(userdata).takeUnretainedValue()
    let n = size * count
    let room = max(0, TransferIO.maxBody - io.body.count)
    if room > 0 {
        io.body.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: min(n, room)))
    }
    return n
}

private let headerCallback: nurture_curl_io_callback = { buffer, size, count, userdata in
    guard let buffer, let userdata else { return 0 }
    let io = Unmanaged<TransferIO>.fromOpaque(userdata).takeUnretainedValue()
    let n = size * count
    let bytes = UnsafeRawBufferPointer(start: buffer, count: n)
    var line = String(decoding: bytes, as: UTF8.self)
    while line.hasSuffix("\n") || line.hasSuffix("\r") || line.hasSuffix("\r\n") { line.removeLast() }
    if io.headerLines.count < 256 { io.headerLines.append(line) }
    return n
}
