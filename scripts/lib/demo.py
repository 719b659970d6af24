#!/usr/bin/env python3
"""Helpers for scripts/run, the demo: what a person's mail client would see in an email.

  demo.py free-port         a free TCP port on 127.0.0.1
  demo.py email FILE.eml    the email's subject, then its tracked links, one per line:
                              subject<TAB>text
                              open<TAB>URL              (the open pixel)
                              click<TAB>URL<TAB>text    (each tracked link, with its text)
"""
import email
import html
import re
import socket
import sys
from email import policy


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def show_email(path):
    with open(path, "rb") as f:
        message = email.message_from_binary_file(f, policy=policy.default)
    print(f"subject\t{message['Subject']}")
    body = next((p for p in message.walk() if p.get_content_type() == "text/html"), None)
    if body is None:
        return
    text = body.get_content()
    for match in re.finditer(r'<img\b[^>]*\bsrc="([^"]+/o/[^"]+)"', text):
        print(f"open\t{html.unescape(match.group(1))}")
    for match in re.finditer(r'<a\b[^>]*\bhref="([^"]+/c/[^"]+)"[^>]*>(.*?)</a>', text, re.S):
        label = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(2))).strip()
        print(f"click\t{html.unescape(match.group(1))}\t{html.unescape(label)}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["free-port"]:
        free_port()
    elif sys.argv[1:2] == ["email"] and len(sys.argv) == 3:
        show_email(sys.argv[2])
    else:
        sys.exit(__doc__)
