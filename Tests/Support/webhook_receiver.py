"""A webhook receiver on loopback for Nurture's tests, verifying with the Standard Webhooks
reference library (PyPI `standardwebhooks`), as a CRM or a Zapier-like receiver would.

Prints "PORT <n>" once listening (on --port, or a free one). Every POST is one JSON line in
DIR/webhooks.jsonl: {"id", "verified", "error", "headers", "payload"}. A verified message
gets --status (204 by default); one that fails verification gets 401.
"""
import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def make_handler(directory, secret, status):
    lock = threading.Lock()
    verifier = Webhook(secret)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            record = {"id": headers.get("webhook-id"), "headers": headers, "path": self.path}
            try:
                record["payload"] = verifier.verify(body, headers)
                record["verified"] = True
                answer = status
            except WebhookVerificationError as error:
                record["verified"] = False
                record["error"] = str(error)
                record["payload"] = None
                answer = 401
            with lock:
                with open(os.path.join(directory, "webhooks.jsonl"), "a") as f:
                    f.write(json.dumps(record) + "\n")
            self.send_response(answer)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--status", type=int, default=204)
    args = parser.parse_args()
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.dir, args.secret, args.status))
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # runs until its standard input closes
    server.shutdown()


if __name__ == "__main__":
    main()
