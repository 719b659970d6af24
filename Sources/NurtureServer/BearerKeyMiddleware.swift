import Hummingbird
import NurtureCore

/// Requires `Authorization: Bearer <api key>`; without a configured key the API is closed.
struct BearerKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: Secret?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let key else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "the API is disabled: set http.api_key (or NURTURE_API_KEY)")
        }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
              Self.equal(Array(header.dropFirst(7).utf8), Array(key.value.utf8))
        else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "missing or wrong API key: send Authorization: Bearer <key>")
        }
        return try await next(request, context)
    }

    /// Constant-time comparison: the time taken does not reveal how much of the key matched.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
