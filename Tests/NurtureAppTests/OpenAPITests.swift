import Foundation
import Hummingbird
import HummingbirdTesting
import NurtureCore
import NurtureServer
@testable import NurtureRuntime
import Testing
import TestSupport

@Suite("The OpenAPI document: valid, served, and describing every route the server has")
struct OpenAPITests {
    static var document: [String: Any] {
        get throws { try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any]) }
    }

    @Test("openapi-spec-validator accepts it as OpenAPI 3.1")
    func valid() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-openapi-\(UUID()).json")
        try OpenAPIDocument.json.write(to: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: path) }
        let result = try runProgram(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-m", "openapi_spec_validator", path.path])
        #expect(result.status == 0 && result.stdout.contains("OK"), "\(result.stdout)\(result.stderr)")
        // The validator is real: a parameter in no valid place fails it.
        let broken = OpenAPIDocument.json.replacingOccurrences(of: #""in": "path""#, with: #""in": "somewhere""#)
        try broken.write(to: path, atomically: true, encoding: .utf8)
        #expect(try runProgram(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-m", "openapi_spec_validator", path.path]).status != 0)
    }

    @Test("every $ref points at something in the document (the validator does not resolve them)")
    func references() throws {
        let document = try Self.document
        var refs: [String] = []
        func walk(_ value: Any) {
            if let object = value as? [String: Any] {
                if let ref = object["$ref"] as? String { refs.append(ref) }
                object.values.forEach(walk)
            } else if let list = value as? [Any] {
                list.forEach(walk)
            }
        }
        walk(document)
        #expect(refs.count > 30)
        for ref in refs {
            var node: Any? = document
            for key in ref.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(key)] }
            #expect(ref.hasPrefix("#/") && node != nil, "\(ref) points at nothing")
        }
    }

    @Test("every route the server registers is described, with its method; and nothing else is")
    func everyRoute() throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime(workflows: Harness.repository.appendingPathComponent("Workflows").path)
        let router = NurtureRoutes.router(api: runtime.feedback, options: .init(apiKey: Secret("key-0123456789"), exposition: runtime.metricsExposition), logger: runtime.logger)
        // Hummingbird's `:name` is OpenAPI's `{name}`.
        let registered = Set(router.routes.map { route in
            let path = route.path.description.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            return "\(route.method.rawValue.lowercased()) /\(path)"
        })
        let paths = try #require(try Self.document["paths"] as? [String: [String: Any]])
        let described = Set(paths.flatMap { path, operations in operations.keys.map { "\($0) \(path)" } })
        #expect(registered.count >= 14, "\(registered.sorted())")
        #expect(registered.subtracting(described).isEmpty, "routes without a description: \(registered.subtracting(described).sorted())")
        #expect(described.subtracting(registered).isEmpty, "described but not served: \(described.subtracting(registered).sorted())")
    }

    @Test("GET /v1/openapi.json serves it without the key")
    func served() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime(workflows: Harness.repository.appendingPathComponent("Workflows").path)
        let app = Application(router: NurtureRoutes.router(api: runtime.feedback, options: .init(apiKey: Secret("key-0123456789")), logger: runtime.logger))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/openapi.json", method: .get) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "application/json")
                #expect(String(buffer: response.body) == OpenAPIDocument.json)
            }
            try await client.execute(uri: "/v1/reports/steps", method: .get) { response in
                #expect(response.status == .unauthorized, "the rest of /v1 still needs the key")
            }
        }
    }
}
