# Installs what Nurture's scripts need on a Debian machine with the Swift toolchain,
# only when missing. Sourced by scripts/run, scripts/test and scripts/bench.

apt_updated=""
apt_install() {
    if [ -z "$apt_updated" ]; then
        echo "==> apt-get update" >&2
        $SUDO apt-get update -qq >&2
        apt_updated=1
    fi
    echo "==> apt-get install $*" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >&2
}

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null; then SUDO="sudo"; fi

# libcurl with headers (the delivery transports), pkg-config to find it.
ensure_build_deps() {
    local missing=()
    command -v pkg-config >/dev/null || missing+=(pkg-config)
    pkg-config --exists libcurl 2>/dev/null || missing+=(libcurl4-openssl-dev)
    pkg-config --exists sqlite3 2>/dev/null || missing+=(libsqlite3-dev)
    if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
}

# Real peers for the tests: aiosmtpd (SMTP server), openssl (test certificates and keys),
# openapi-spec-validator (the OpenAPI document), dkimpy with pynacl (an independent DKIM
# verifier, RSA and Ed25519), chromium (the dashboard, the emails' layout), systemd-analyze,
# spamassassin (the shipped emails' scores), standardwebhooks (the reference verifier of
# outbound webhook signatures), dovecot (a real IMAP server for the bounce mailbox; the tests
# start a private instance of it).
ensure_test_deps() {
    ensure_build_deps
    command -v openssl >/dev/null || apt_install openssl
    command -v chromium >/dev/null || apt_install chromium   # the dashboard's browser tests
    command -v systemd-analyze >/dev/null || apt_install systemd   # checks deploy/nurture.service
    command -v spamassassin >/dev/null || apt_install spamassassin   # scores the shipped emails
    [ -x /usr/sbin/dovecot ] || apt_install dovecot-imapd   # the bounce mailbox's IMAP server
    command -v python3 >/dev/null || apt_install python3 python3-pip
    local module package
    for module in aiosmtpd:aiosmtpd openapi_spec_validator:openapi-spec-validator dkim:dkimpy nacl:pynacl standardwebhooks:standardwebhooks; do
        package="${module#*:}"; module="${module%%:*}"
        if ! python3 -c "import $module" 2>/dev/null; then
            echo "==> pip install $package" >&2
            python3 -m pip install -q "$package" >&2 2>/dev/null \
                || python3 -m pip install -q --break-system-packages "$package" >&2
        fi
    done
}

# Postfix's smtp-sink and smtp-source, the delivery benchmark's reference. Installing
# postfix must not leave its daemon running.
ensure_bench_deps() {
    ensure_build_deps
    if ! command -v smtp-sink >/dev/null && [ ! -x /usr/sbin/smtp-sink ]; then
        echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections 2>/dev/null || true
        apt_install postfix
        $SUDO postfix stop >/dev/null 2>&1 || true
    fi
}
