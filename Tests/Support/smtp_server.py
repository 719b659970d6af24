"""A real SMTP server on loopback for Nurture's tests (aiosmtpd).

Prints "PORT <n>" once listening. Records every accepted message as one JSON line in
DIR/messages.jsonl (peer, envelope, auth user, the exact bytes in base64) and every
connection in DIR/connections.log.

Scripted answers by recipient local part:
  reject550...  -> RCPT answered 550 (permanent)
  defer451...   -> RCPT answered 451 (transient)
  spam554...    -> end of DATA answered 554 (permanent)
  once451...    -> RCPT answered 451 the first time that address is seen, then accepted
  barrierN-...  -> end of DATA answered only once N messages to barrierN addresses are at
                   that point at once (so only a client that sends them concurrently gets
                   them accepted); 451 if that has not happened within 10 seconds
"""
import argparse
import asyncio
import base64
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    def __init__(self, directory):
        self.directory = directory
        self.seen = set()
        self.count = 0
        self.barriers = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject550"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if local.startswith("defer451"):
            return "451 4.3.0 <%s>: Temporary lookup failure" % address
        if local.startswith("once451") and address not in self.seen:
            self.seen.add(address)
            return "451 4.7.1 <%s>: Greylisted, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        if any(r.split("@", 1)[0].lower().startswith("spam554") for r in envelope.rcpt_tos):
            return "554 5.7.1 Message rejected as spam"
        for r in envelope.rcpt_tos:
            local = r.split("@", 1)[0].lower()
            if local.startswith("barrier"):
                size = int(local[len("barrier"):].split("-", 1)[0])
                barrier = self.barriers.setdefault(size, {"arrived": 0, "reached": asyncio.Event()})
                barrier["arrived"] += 1
                if barrier["arrived"] >= size:
                    barrier["reached"].set()
                try:
                    await asyncio.wait_for(barrier["reached"].wait(), timeout=10)
                except asyncio.TimeoutError:
                    return "451 4.4.1 Only %d of %d messages arrived together" % (barrier["arrived"], size)
        self.count += 1
        auth = session.auth_data
        record = {
            "peer": list(session.peer[:2]),
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth_user": auth.login.decode() if isinstance(auth, LoginPassword) else None,
            "tls": session.ssl is not None,
            "data": base64.b64encode(envelope.original_content).decode(),
        }
        with open(os.path.join(self.directory, "messages.jsonl"), "a") as f:
            f.write(json.dumps(record) + "\n")
        # The Message-IDs alone, one a line: cheap to count for tests that send thousands.
        message_id = ""
        for line in envelope.original_content.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                message_id = line.split(b":", 1)[1].strip().decode(errors="replace")
        with open(os.path.join(self.directory, "ids.txt"), "a") as f:
            f.write(message_id + "\n")
        return f"250 2.0.0 Ok: queued as Q{self.count}"


class CountingSMTP(SMTP):
    def connection_made(self, transport):
        peer = transport.get_extra_info("peername")
        with open(os.path.join(self.event_handler.directory, "connections.log"), "a") as f:
            f.write(f"{peer[0]}:{peer[1]}\n")
        super().connection_made(transport)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--auth", help="user:password that AUTH must present")
    parser.add_argument("--port", type=int, default=0, help="listen on this port (default: a free one)")
    args = parser.parse_args()

    handler = Recorder(args.dir)
    kwargs = {"enable_SMTPUTF8": True, "decode_data": False, "data_size_limit": 50 * 1024 * 1024}
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        kwargs.update(tls_context=context, require_starttls=True)
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user \
                and auth_data.password.decode() == password
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=bool(args.tls_cert))

    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: CountingSMTP(handler, **kwargs), "127.0.0.1", args.port, reuse_address=True)
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    # Stop when the test (our parent) closes stdin or exits.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
