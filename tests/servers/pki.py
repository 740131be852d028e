"""A throw-away PKI for TLS tests, built with trustme at run time.

Why: the SMTP client under test pins TLS and verifies certificates, so the test servers must
present certificates that are *really* trusted (or really not): one trusted CA written to a
PEM file the client can load like a real deployment's ``cafile``, plus three deliberately bad
server certificates (untrusted issuer, wrong host name, expired) so every verification failure
mode is reachable over a genuine handshake instead of a mock.

Nothing is checked into the repository: keys are generated per test session.
"""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path
from typing import Literal, get_args

import trustme

CertKind = Literal["good", "untrusted", "wrong_host", "expired"]
"""Which server certificate a test server presents."""

CERT_KINDS: tuple[CertKind, ...] = get_args(CertKind)

#: Identities every "right host" certificate covers: the DNS name and the IP SAN, so a client may
#: connect either to ``localhost`` or to ``127.0.0.1`` with host-name checking on.
SERVER_IDENTITIES: tuple[str, ...] = ("localhost", "127.0.0.1")

#: A name that no test server is reached by; used for the wrong-host certificate.
WRONG_HOST = "wrong.example"


class TestPKI:
    """A trusted CA, an untrusted CA, and server certificates for each failure mode.

    ``ca_file`` is the only file a client needs: it holds the trusted CA's certificate. The
    untrusted CA is never written there, so its server certificate fails chain verification.
    """

    # Not a test class, even though its name starts with "Test": keep pytest from collecting it.
    __test__ = False

    def __init__(self, tmp_dir: Path) -> None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA(organization_name="outreach-tui test CA")
        self.untrusted_ca = trustme.CA(organization_name="outreach-tui UNTRUSTED CA")

        self.ca_file: Path = tmp_dir / "test-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))

        # Expired a day ago; trustme's default notBefore (year 2000) keeps the range valid.
        yesterday = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
        self.certs: dict[CertKind, trustme.LeafCert] = {
            "good": self.ca.issue_cert(*SERVER_IDENTITIES),
            "untrusted": self.untrusted_ca.issue_cert(*SERVER_IDENTITIES),
            "wrong_host": self.ca.issue_cert(WRONG_HOST),
            "expired": self.ca.issue_cert(*SERVER_IDENTITIES, not_after=yesterday),
        }
        self._server_contexts: dict[CertKind, ssl.SSLContext] = {}

    def server_context(self, kind: CertKind = "good") -> ssl.SSLContext:
        """Return a server-side context presenting the certificate of ``kind``.

        Contexts are cached per kind: building one loads a key and chain, and a context can be
        shared by any number of listeners.
        """
        if kind not in self.certs:
            raise ValueError(f"unknown certificate kind {kind!r}; expected one of {CERT_KINDS}")
        ctx = self._server_contexts.get(kind)
        if ctx is None:
            # Purpose.CLIENT_AUTH = a server context: no client certificate requested, no host
            # name check (aiosmtpd warns about contexts that would demand client certificates).
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.certs[kind].configure_cert(ctx)
            self._server_contexts[kind] = ctx
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """Return a verifying client context that trusts only the test CA.

        Built the way a production client would (``cafile=``), so certificate and host-name
        verification are both on.
        """
        return ssl.create_default_context(cafile=str(self.ca_file))


def make_pki(tmp_dir: Path) -> TestPKI:
    """Build a fresh :class:`TestPKI` whose CA file lives in ``tmp_dir``."""
    return TestPKI(tmp_dir)
