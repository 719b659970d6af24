"""Opens N idle TCP connections to a server, then asks GET /healthz on a new one.

Prints one JSON line: how many idle connections were accepted, the /healthz answer and how
long it took, and how many idle connections the server had closed after `--wait` seconds
at most (polling, so it returns as soon as all are closed).
Usage: idle_connections.py PORT N [--wait SECONDS]
"""
import json, resource, select, socket, sys, time

port, count = int(sys.argv[1]), int(sys.argv[2])
wait = float(sys.argv[sys.argv.index("--wait") + 1]) if "--wait" in sys.argv else 0.0
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 256)), hard))

idle = []
refused = 0
for _ in range(count):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        refused += 1
        continue
    s.setblocking(False)
    idle.append(s)

started = time.monotonic()
answer = ""
try:
    h = socket.create_connection(("127.0.0.1", port), timeout=15)
    h.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = h.recv(4096)
        if not chunk:
            break
        data += chunk
    answer = data.decode(errors="replace").split("\r\n")[0]
except OSError as error:
    answer = "error: %s" % error
elapsed = time.monotonic() - started

closed = 0
deadline = time.monotonic() + wait
poller = select.poll()
by_fd = {s.fileno(): s for s in idle}
for fd in by_fd:
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
while by_fd and time.monotonic() < deadline:
    for fd, _ in poller.poll(500):
        s = by_fd.get(fd)
        if s is None:
            continue
        try:
            gone = s.recv(1) == b""
        except BlockingIOError:
            gone = False
        except OSError:
            gone = True
        if gone:
            closed += 1
            poller.unregister(fd)
            del by_fd[fd]
print(json.dumps({"connected": len(idle), "refused": refused, "healthz": answer, "seconds": round(elapsed, 2), "closed": closed}))
