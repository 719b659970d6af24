"""A real HTTP server on loopback standing in for an email API, for Nurture's tests.

Prints "PORT <n>" once listening. Records every request as one JSON line in
DIR/requests.jsonl (method, path, headers, body in base64).

Answers by path:
  /ok          -> 202 {"id": "msg-N", "status": "queued"}
  /slow-down   -> 429 with Retry-After: 120
  /unavailable -> 503 with Retry-After: Wed, 21 Oct 2037 07:28:00 GMT
  /bad         -> 422 {"error": "invalid recipient"}
  /unauthorized-> 401 {"error": "bad API key"}
  /barrier/N   -> 202 once N requests to /barrier/N are waiting for their answer at once (so
                  only a client that sends them concurrently gets them accepted); 504 if that
                  has not happened within 10 seconds
"""
import argparse
import base64
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWERS = {
    "/ok": (202, {}, None),
    "/slow-down": (429, {"Retry-After": "120"}, {"error": "rate limited"}),
    "/unavailable": (503, {"Retry-After": "Wed, 21 Oct 2037 07:28:00 GMT"}, {"error": "maintenance"}),
    "/bad": (422, {}, {"error": "invalid recipient"}),
    "/unauthorized": (401, {}, {"error": "bad API key"}),
}


def make_handler(directory):
    counter = {"n": 0}
    lock = threading.Lock()
    barriers = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with lock:
                counter["n"] += 1
                n = counter["n"]
                record = {
                    "method": "POST",
                    "path": self.path,
                    "headers": {k: v for k, v in self.headers.items()},
                    "body": base64.b64encode(body).decode(),
                    "peer": list(self.client_address[:2]),
                }
                with open(os.path.join(directory, "requests.jsonl"), "a") as f:
                    f.write(json.dumps(record) + "\n")
            status, headers, payload = ANSWERS.get(self.path, (404, {}, {"error": "no such path"}))
            if self.path.startswith("/barrier/"):
                size = int(self.path[len("/barrier/"):])
                with lock:
                    barrier = barriers.setdefault(size, threading.Barrier(size, timeout=10))
                try:
                    barrier.wait()
                    status, headers, payload = 202, {}, None
                except threading.BrokenBarrierError:
                    status, headers, payload = 504, {}, {"error": "not all %d requests arrived together within 10 s" % size}
            if payload is None:
                payload = {"id": f"msg-{n}", "status": "queued"}
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args.dir))
    print("PORT", server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
