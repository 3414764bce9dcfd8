"""Alert mail over a real SMTP conversation (aiosmtpd in this process): STARTTLS against a
certificate the configured CA signs, then login; the wrong password or a server that insists
on TLS is a failed try with the server's reason, never a silent success."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from civicpulse.sink.delivery.matching import deliveries_for
from civicpulse.sink.delivery.render import AlertContext, email_message
from civicpulse.sink.delivery.senders import SmtpConfig, send_mail
from tests.unit.sink.delivery.alerts import alert, subscription

from .receivers import MailReceiver

pytestmark = pytest.mark.integration


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (it is its own CA)."""
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))  # fmt: skip
    return cert_file, key_file


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"civic", b"pulse")
    return AuthResult(success=ok)


def _mail() -> Any:
    (delivery,) = deliveries_for(alert(), (subscription(webhook=None, lang="en"),))
    context = AlertContext("Civil Affairs", "Civil Affairs", "http://city.example/")
    return email_message(delivery, alert(), context, sender="alerts@city.example",
                         now=dt.datetime.now(dt.UTC))  # fmt: skip


def test_starttls_and_login(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    options = {"tls_context": tls, "require_starttls": True, "authenticator": _authenticator,
               "auth_required": True}  # fmt: skip
    with MailReceiver(**options) as server:

        def config(**changes: Any) -> SmtpConfig:
            fields: dict[str, Any] = {
                "host": "127.0.0.1", "port": server.port, "starttls": True, "user": "civic",
                "password": "pulse", "sender": "alerts@city.example", "ca_file": str(cert),
                "timeout": 5.0,
            }  # fmt: skip
            return SmtpConfig(**{**fields, **changes})

        assert send_mail(config(), _mail()).delivered
        (received,) = server.messages
        assert received["Subject"] == "Low satisfaction: Civil Affairs (department)"

        # smtplib tries each mechanism the server offers; aiosmtpd leaves the last one hanging,
        # so the reason varies: what matters is that the mail is not taken for delivered.
        refused = send_mail(config(password="wrong", timeout=2.0), _mail())
        assert not refused.delivered
        # without STARTTLS the server does not even offer login
        plain = send_mail(config(starttls=False), _mail())
        assert not plain.delivered and "AUTH extension not supported" in plain.reason
        untrusted = send_mail(config(ca_file=None), _mail())
        assert not untrusted.delivered and "CERTIFICATE_VERIFY_FAILED" in untrusted.reason
        assert len(server.messages) == 1
