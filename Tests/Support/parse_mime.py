"""Reads an RFC 5322 message from stdin with Python's email package (default policy,
an independent parser) and prints what it found as JSON: the decoded headers, the
structure, each leaf part's decoded text, and every line length in octets."""
import json
import sys
from email import policy
from email.parser import BytesParser

raw = sys.stdin.buffer.read()
message = BytesParser(policy=policy.default).parsebytes(raw)
parts = []
for part in message.walk():
    if part.is_multipart():
        continue
    parts.append({
        "content_type": part.get_content_type(),
        "charset": part.get_content_charset(),
        "transfer_encoding": part.get("Content-Transfer-Encoding"),
        "content": part.get_content().replace("\r\n", "\n"),
    })
lines = raw.split(b"\r\n")
print(json.dumps({
    "headers": [[k, str(v)] for k, v in message.items()],
    "defects": [repr(d) for d in message.defects] + [repr(d) for p in message.walk() for d in p.defects],
    "content_type": message.get_content_type(),
    "from": [[a.display_name, a.addr_spec] for a in message["From"].addresses] if message["From"] else [],
    "to": [[a.display_name, a.addr_spec] for a in message["To"].addresses] if message["To"] else [],
    "subject": str(message["Subject"]),
    "parts": parts,
    "max_line": max(len(l) for l in lines),
    "bare_lf": b"\n" in raw.replace(b"\r\n", b""),
    "bare_cr": b"\r" in raw.replace(b"\r\n", b""),
}))
