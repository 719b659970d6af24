import Hummingbird
import NurtureCore
import Foundation

/// Guards the dashboard: a browser signs in with HTTP Basic authentication (any user name,
/// the API key as the password); tools may send the bearer key. Without either the answer is
/// 401 with a sign-in challenge and nothing about leads. Without a configured key the
/// dashboard is closed, like the API.
struct DashboardAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: Secret?

    static var challenge: HTTPFields { [.wwwAuthenticate: #"Basic realm="Nurture dashboard", charset="UTF-8""#, .cacheControl: "no-store"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let key else {
            throw HTTPError(.unauthorized, headers: Self.challenge, message: "the dashboard is disabled: set http.api_key (or NURTURE_API_KEY)")
        }
        guard let header = request.headers[.authorization], Self.presented(header).map({ BearerKeyMiddleware<Context>.equal(Array($0.utf8), Array(key.value.utf8)) }) == true else {
            throw HTTPError(.unauthorized, headers: Self.challenge, message: "sign in with the API key as the password (any user name)")
        }
        return try await next(request, context)
    }

    /// The key an `Authorization` header carries: a bearer token, or a Basic password.
    static func presented(_ header: String) -> String? {
        if header.hasPrefix("Bearer ") { return String(header.dropFirst(7)) }
        guard let credentials = BasicAuthorization.credentials(header), let colon = credentials.firstIndex(of: ":") else { return nil }
        return String(credentials[credentials.index(after: colon)...])
    }
}
