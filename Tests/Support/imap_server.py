"""A real IMAP server on loopback for Nurture's tests: a private Dovecot instance (Debian's
dovecot-imapd), IMAP over TLS (imaps) with a test certificate, one user with a Maildir.

Prints "PORT <n>" once Dovecot accepts connections. Mail is delivered by writing files into
DIR/home/<user>/Maildir/new, as a local delivery agent would. Runs until its standard input
closes, then stops Dovecot.
"""
import argparse
import os
import pwd
import signal
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    d = os.path.abspath(args.dir)
    if os.geteuid() == 0:
        # Dovecot never serves mail as root: the mailbox belongs to its unprivileged user.
        mail = pwd.getpwnam("dovenull")
        internal, login = "dovecot", "dovenull"
    else:
        mail = pwd.getpwuid(os.geteuid())
        internal = login = mail.pw_name
    home = os.path.join(d, "home", args.user)
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(home, "Maildir", sub), exist_ok=True)
    for root, dirs, files in os.walk(os.path.join(d, "home")):
        os.chown(root, mail.pw_uid, mail.pw_gid)
    os.makedirs(os.path.join(d, "run"), exist_ok=True)
    os.makedirs(os.path.join(d, "state"), exist_ok=True)
    with open(os.path.join(d, "users"), "w") as f:
        f.write(f"{args.user}:{{PLAIN}}{args.password}:{mail.pw_uid}:{mail.pw_gid}::{home}\n")
    port = free_port()
    dh = "ssl_dh = </usr/share/dovecot/dh.pem\n" if os.path.exists("/usr/share/dovecot/dh.pem") else ""
    config = os.path.join(d, "dovecot.conf")
    with open(config, "w") as f:
        f.write(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
ssl = required
ssl_cert = <{args.cert}
ssl_key = <{args.key}
{dh}disable_plaintext_auth = yes
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
first_valid_gid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/users
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""")
    dovecot = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", config], start_new_session=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        if dovecot.poll() is not None:
            log = open(os.path.join(d, "dovecot.log")).read() if os.path.exists(os.path.join(d, "dovecot.log")) else ""
            print(f"dovecot exited with {dovecot.returncode}: {log}", flush=True)
            sys.exit(1)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    print(f"PORT {port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        os.killpg(dovecot.pid, signal.SIGTERM)
        try:
            dovecot.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(dovecot.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
