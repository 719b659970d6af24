import Crypto
import Foundation
import NurtureCore

/// An opaque, stable identifier of one send, derived from its ``SendKey`` with the
/// signing secret: it says nothing about the lead, yet the same send always gets the same id.
public struct SendID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// 32 lowercase hex digits. (Per hit and per send: written from a table, not formatted.)
    public var description: String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
            for (i, byte) in bytes.enumerated() {
                buffer[2 * i] = Self.hex[Int(byte >> 4)]
                buffer[2 * i + 1] = Self.hex[Int(byte & 0x0F)]
            }
            return bytes.count * 2
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)
}

/// What a tracking URL stands for.
public enum TrackingToken: Equatable, Sendable {
    /// The open pixel of a send.
    case open(SendID)
    /// A link of a send, and the exact URL it leads to.
    case click(SendID, url: String)
    /// The unsubscribe page and one-click endpoint of a send.
    case unsubscribe(SendID)
    /// The web view of a send ("view in your browser").
    case view(SendID)

    public var sendID: SendID {
        switch self {
        case .open(let id), .click(let id, _), .unsubscribe(let id), .view(let id): id
        }
    }
}

/// Signs and verifies tracking tokens with HMAC-SHA256 (swift-crypto).
///
/// A token is base64url(`version | kind | send id (16 bytes) | click URL`) followed by
/// the first 16 bytes of its HMAC. Changing any byte — the kind, the send, the target
/// URL — invalidates it, so the click endpoint can only redirect to URLs that Nurture
/// itself put in a message: never an open redirect.
public struct TrackingSigner: Sendable {
    /// The two HMACs with their keys already absorbed: each use copies one and adds only the
    /// message (keying costs two SHA-256 blocks, as much as a short message).
    private let tokenMAC: HMAC<SHA256>
    private let idMAC: HMAC<SHA256>
    private static let version: UInt8 = 1
    private static let macLength = 16

    /// - Parameters:
    ///   - secret: the configured signing secret; use at least 32 random bytes.
    ///   - installation: the installation's id (``InstallationIdentity``), mixed into send ids
    ///     (so into Message-IDs and tokens): two installations that share a secret make
    ///     different ones. `nil` where there is no database (previews, dry-runs).
    public init(secret: Secret, installation: String? = nil) {
        let master = SymmetricKey(data: Data(secret.value.utf8))
        // Separate keys per purpose, so a send id can never be replayed as a MAC.
        let tokenKey = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data("nurture-token-v1".utf8), using: master)))
        let purpose = installation.map { "nurture-send-id-v2:\($0)" } ?? "nurture-send-id-v1"
        let idKey = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(purpose.utf8), using: master)))
        tokenMAC = HMAC<SHA256>(key: tokenKey)
        idMAC = HMAC<SHA256>(key: idKey)
    }

    /// The stable opaque id of a send.
    public func sendID(for key: SendKey) -> SendID {
        var hmac = idMAC
        hmac.update(data: Array(key.description.utf8))
        return SendID(bytes: Array(hmac.finalize().prefix(16)))!
    }

    /// The URL-safe token for `token`.
    public func sign(_ token: TrackingToken) -> String {
        var payload: [UInt8] = [Self.version]
        switch token {
        case .open(let id):
            payload.append(UInt8(ascii: "o"))
            payload += id.bytes
        case .click(let id, let url):
            payload.append(UInt8(ascii: "c"))
            payload += id.bytes
            payload += Array(url.utf8)
        case .unsubscribe(let id):
            payload.append(UInt8(ascii: "u"))
            payload += id.bytes
        case .view(let id):
            payload.append(UInt8(ascii: "v"))
            payload += id.bytes
        }
        var hmac = tokenMAC
        hmac.update(data: payload)
        return Base64URL.encode(payload + Array(hmac.finalize().prefix(Self.macLength)))
    }

    /// The token's meaning, or `nil` when it was not signed with this secret or was altered.
    public func verify(_ text: Substring) -> TrackingToken? {
        guard text.utf8.count <= 8192, let bytes = Base64URL.decode(text),
              bytes.count >= 2 + 16 + Self.macLength, bytes[0] == Self.version
        else { return nil }
        let payload = bytes[..<(bytes.count - Self.macLength)]
        let mac = bytes[(bytes.count - Self.macLength)...]
        var hmac = tokenMAC
        hmac.update(data: payload)
        let expected = Array(hmac.finalize().prefix(Self.macLength))
        // Constant time: the comparison must not reveal how many bytes matched.
        var difference: UInt8 = 0
        for (a, b) in zip(mac, expected) { difference |= a ^ b }
        guard difference == 0 else { return nil }
        let id = SendID(bytes: Array(payload[2..<18]))!
        switch payload[1] {
        case UInt8(ascii: "o") where payload.count == 18: return .open(id)
        case UInt8(ascii: "u") where payload.count == 18: return .unsubscribe(id)
        case UInt8(ascii: "v") where payload.count == 18: return .view(id)
        case UInt8(ascii: "c"):
            guard let url = String(bytes: payload[18...], encoding: .utf8) else { return nil }
            return .click(id, url: url)
        default: return nil
        }
    }

    public func verify(_ text: String) -> TrackingToken? { verify(text[...]) }
}

/// Base64 with the URL-safe alphabet and no padding (RFC 4648 §5).
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    /// Each alphabet byte's 6-bit value (the others are refused before the table is read).
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 256)
        for (value, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(value) }
        return table
    }()

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        if bytes.count - i == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)]]
        } else if bytes.count - i == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)]]
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        guard text.utf8.allSatisfy({ byte in
            (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }) else { return nil }
        // Decoded from a table: no string rewriting, no Foundation (once per tracking hit).
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3 / 4)
        var accumulator: UInt32 = 0, bits = 0
        for byte in text.utf8 {
            accumulator = (accumulator << 6 | UInt32(Self.values[Int(byte)])) & 0xFFFF
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // A lone character (6 bits) is not base64; leftover bits must be zero.
        guard text.utf8.count % 4 != 1, accumulator & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return out
    }
}
