import Crypto
import CryptoExtras
import Foundation

/// A DKIM signing key (RFC 6376; Ed25519 per RFC 8463): the signing domain (`d=`), the
/// selector (`s=`) under which its public key is published in DNS, and the private key, read
/// from PEM. RSA keys must have at least 2,048 bits.
public struct DKIMKey: Sendable {
    public enum Algorithm: String, Sendable, CaseIterable {
        case rsaSHA256 = "rsa-sha256"
        case ed25519SHA256 = "ed25519-sha256"

        /// The `k=` tag of the DNS record.
        var keyType: String { self == .rsaSHA256 ? "rsa" : "ed25519" }
    }

    private enum Material: @unchecked Sendable {
        // @unchecked: both are immutable value wrappers around BoringSSL keys that swift-crypto
        // uses from any thread.
        case rsa(_RSA.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)
    }

    /// `d=`: the domain that vouches for the message (DMARC wants the From domain or its parent).
    public let domain: String
    /// `s=`: the DNS record is `<selector>._domainkey.<domain>`.
    public let selector: String
    private let material: Material

    public var algorithm: Algorithm {
        if case .rsa = material { return .rsaSHA256 }
        return .ed25519SHA256
    }

    /// A key for `domain` and `selector` from a PEM private key: RSA (PKCS #1 or PKCS #8) or
    /// Ed25519 (PKCS #8, as `openssl genpkey -algorithm ed25519` writes it).
    public init(domain: String, selector: String, pem: String) throws(DKIMKeyError) {
        try Self.check(domain: domain, selector: selector)
        self.domain = domain.lowercased()
        self.selector = selector.lowercased()
        if let key = try? Curve25519.Signing.PrivateKey(pemRepresentation: pem) {
            material = .ed25519(key)
        } else if let key = try? _RSA.Signing.PrivateKey(pemRepresentation: pem) {
            material = .rsa(key)
        } else if (try? _RSA.Signing.PrivateKey(unsafePEMRepresentation: pem)) != nil {
            throw .weakKey
        } else {
            throw .notAPrivateKey
        }
    }

    /// A new key; ``pemRepresentation`` gives it to keep in a file.
    public init(generating algorithm: Algorithm, domain: String, selector: String) throws(DKIMKeyError) {
        try Self.check(domain: domain, selector: selector)
        self.domain = domain.lowercased()
        self.selector = selector.lowercased()
        switch algorithm {
        case .ed25519SHA256:
            material = .ed25519(Curve25519.Signing.PrivateKey())
        case .rsaSHA256:
            do {
                material = .rsa(try _RSA.Signing.PrivateKey(keySize: .bits2048))
            } catch {
                throw .cannotGenerate("\(error)")
            }
        }
    }

    /// The private key as PEM (PKCS #8).
    public var pemRepresentation: String {
        switch material {
        case .rsa(let key): key.pkcs8PEMRepresentation
        case .ed25519(let key): key.pemRepresentation
        }
    }

    /// Where the public key is published: `<selector>._domainkey.<domain>`.
    public var dnsName: String { "\(selector)._domainkey.\(domain)" }

    /// The TXT record to publish at ``dnsName``: `v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>` or,
    /// for Ed25519, `k=ed25519; p=<the 32-byte public key>` (RFC 8463 §4).
    public var dnsRecord: String {
        switch material {
        case .rsa(let key): "v=DKIM1; k=rsa; p=\(key.publicKey.derRepresentation.base64EncodedString())"
        case .ed25519(let key): "v=DKIM1; k=ed25519; p=\(key.publicKey.rawRepresentation.base64EncodedString())"
        }
    }

    /// The signature of the SHA-256 hash of `data`: RSASSA-PKCS1-v1_5 (RFC 6376 §3.3.1), or
    /// PureEdDSA over the hash (RFC 8463 §3).
    func sign(_ data: [UInt8]) throws(DKIMKeyError) -> Data {
        let digest = SHA256.hash(data: data)
        do {
            switch material {
            case .rsa(let key):
                return try key.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation
            case .ed25519(let key):
                return try key.signature(for: Data(digest))
            }
        } catch {
            throw .cannotSign("\(error)")
        }
    }

    private static func check(domain: String, selector: String) throws(DKIMKeyError) {
        guard isHostname(domain), domain.contains(".") else { throw .badDomain(domain) }
        guard isHostname(selector) else { throw .badSelector(selector) }
    }

    /// Dot-separated labels of letters, digits and inner hyphens (or underscores, which DNS
    /// allows in selectors), each 1 to 63 characters.
    private static func isHostname(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }
        }
    }
}

/// Why a DKIM key cannot be used.
public enum DKIMKeyError: Error, Equatable, CustomStringConvertible {
    case badDomain(String)
    case badSelector(String)
    case notAPrivateKey
    case weakKey
    case cannotGenerate(String)
    case cannotSign(String)

    public var description: String {
        switch self {
        case .badDomain(let d): "'\(d.prefix(100))' is not a domain name (expected e.g. acme.example)"
        case .badSelector(let s): "'\(s.prefix(100))' is not a selector (expected letters, digits and hyphens, e.g. nurture2026)"
        case .notAPrivateKey: "not a PEM private key: expected an RSA key (PKCS #1 or #8) or an Ed25519 key (PKCS #8)"
        case .weakKey: "the RSA key is shorter than 2,048 bits: make a new one with `nurture dkim keygen`"
        case .cannotGenerate(let why): "cannot make a key: \(why)"
        case .cannotSign(let why): "cannot sign: \(why)"
        }
    }
}
