#!/usr/bin/env python3
"""Verifies every DKIM-Signature of a message with dkimpy, an independent implementation.

  dkim_verify.py MESSAGE.eml NAME=RECORD [NAME=RECORD ...]

The DNS TXT records are given on the command line (NAME is e.g. s1._domainkey.acme.example)
instead of being looked up. Prints one line per signature, "pass d=… s=… a=…" or
"fail d=… s=…: why", and exits 0 only when there is at least one signature and all pass.
"""
import re
import sys

import dkim


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    with open(sys.argv[1], "rb") as f:
        message = f.read()
    records = {}
    for pair in sys.argv[2:]:
        name, _, value = pair.partition("=")
        records[name.rstrip(".").lower()] = value.encode()

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return records.get(name.rstrip(".").lower())

    count = len(re.findall(rb"(?im)^DKIM-Signature:", message.split(b"\r\n\r\n", 1)[0]))
    failed = count == 0
    for index in range(count):
        verifier = dkim.DKIM(message)
        try:
            ok = verifier.verify(idx=index, dnsfunc=dnsfunc)
            why = "" if ok else "signature does not match"
        except dkim.DKIMException as error:
            ok, why = False, str(error)
        tags = verifier.signature_fields or {}
        label = " ".join(f"{k}={tags.get(k.encode(), b'?').decode()}" for k in ("d", "s", "a"))
        print(f"pass {label}" if ok else f"fail {label}: {why}")
        failed = failed or not ok
    if count == 0:
        print("fail: no DKIM-Signature")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
