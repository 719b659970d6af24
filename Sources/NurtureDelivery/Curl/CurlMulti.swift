import CCurl

/// One libcurl multi handle with a safe Swift API: the transfers of several ``CurlEasy``
/// handles driven together by one thread, over one cache of open connections.
///
/// A connection stays in the cache when its transfer ends, so the next transfer to the same
/// relay, from any of the handles, reuses it (and its TLS session and SMTP login).
///
/// Not thread-safe, except ``wakeUp()``: only the thread of the ``CurlTransferPool`` that owns
/// it calls the rest.
final class CurlMulti {
    private let multi: UnsafeMutableRawPointer
    private var isClosed = false
    /// The handles added and not yet removed, by libcurl's pointer.
    private var attached: [UnsafeMutableRawPointer: CurlEasy] = [:]

    /// - Parameter maxConnections: how many open connections the cache keeps; an idle one
    ///   beyond that is closed.
    init(maxConnections: Int) {
        CurlEasy.globalInit
        guard let multi = curl_multi_init() else {
            fatalError("curl_multi_init failed: libcurl could not allocate a handle")
        }
        self.multi = multi
        let code = nurture_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(1, maxConnections))
        precondition(code == CURLM_OK, "curl_multi_setopt(MAXCONNECTS) failed: \(CurlMulti.describe(code))")
    }

    deinit {
        close()
    }

    /// Removes what is attached and frees the multi handle, closing its cached connections.
    /// Nothing may be called afterwards, ``wakeUp()`` included.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        for handle in attached.keys { curl_multi_remove_handle(multi, handle) }
        attached.removeAll()
        curl_multi_cleanup(multi)
    }

    /// Starts `easy`'s transfer (it progresses in ``perform()``). `nil`, or why libcurl refused.
    func add(_ easy: CurlEasy) -> String? {
        let code = curl_multi_add_handle(multi, easy.handle)
        guard code == CURLM_OK else { return Self.describe(code) }
        attached[easy.handle] = easy
        return nil
    }

    /// Moves every transfer as far as it can go without waiting. `nil`, or libcurl's error.
    func perform() -> String? {
        var running: Int32 = 0
        let code = curl_multi_perform(multi, &running)
        return code == CURLM_OK ? nil : Self.describe(code)
    }

    /// The transfers that ended since the last call, removed from the multi handle, with
    /// libcurl's result for each.
    func takeFinished() -> [(easy: CurlEasy, result: CURLcode)] {
        var finished: [(easy: CurlEasy, result: CURLcode)] = []
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle,
                  let easy = attached[handle] else { continue }
            // The message points into the handle: read its result before removing it.
            finished.append((easy, nurture_curl_msg_result(message)))
        }
        for (easy, _) in finished { detach(easy) }
        return finished
    }

    /// Removes every transfer under way (after libcurl failed as a whole) and returns them.
    func removeAll() -> [CurlEasy] {
        let easies = Array(attached.values)
        for easy in easies { detach(easy) }
        return easies
    }

    /// Waits until a connection can move, libcurl's own timer is due, ``wakeUp()`` is called,
    /// or `timeoutMilliseconds` pass. `nil`, or libcurl's error.
    func poll(timeoutMilliseconds: Int32) -> String? {
        let code = curl_multi_poll(multi, nil, 0, timeoutMilliseconds, nil)
        return code == CURLM_OK ? nil : Self.describe(code)
    }

    /// Ends the current ``poll(timeoutMilliseconds:)`` early, or the next one if none is
    /// under way. Safe from any thread until ``close()``.
    func wakeUp() {
        _ = curl_multi_wakeup(multi)
    }

    private func detach(_ easy: CurlEasy) {
        curl_multi_remove_handle(multi, easy.handle)
        attached[easy.handle] = nil
    }

    private static func describe(_ code: CURLMcode) -> String {
        String(cString: curl_multi_strerror(code))
    }
}
