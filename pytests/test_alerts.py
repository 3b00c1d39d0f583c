"""Alerts (monitoring/) on real services on loopback: an SMTP server (aiosmtpd, STARTTLS with a certificate made
here, login required), an HTTP receiver for the webhook, and PostgreSQL for the open alerts.

The findings are read from the artifacts of two real `dbt build`s of the fixture project pytests/data/alerts: a
failing night (a test per kind of owner declaration and a model error) and a green night.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from dbt_helpers import dbt_env

from monitoring import AlertConfig, AlertConfigError, Findings, findings_from_artifacts, send_alerts
from project_root import PROJECT_ROOT
from warehouse import Warehouse

ALERTS_PROJECT = Path(__file__).parent / "data" / "alerts"
SMTP_USER, SMTP_PASSWORD = "alerts", "s3cret-Pa55word-never-logged"
WEBHOOK_SECRET = "T0001/B0002/hook-token-never-logged"
TEAM = "team@example.org"
# The landing rows of each night: a duplicate account, a delivery without a file name, a negative principal,
# a fractional amount the integer model cannot cast (its error), an unknown currency (a warning); then all clean.
NIGHTS = {
    "failing": {
        "accounts": [("A1", "250", "EUR"), ("A1", "250", "EUR"), ("A2", "-5", "XXX"), ("A3", "12.5", "CZK")],
        "deliveries": [(None,), ("accounts/2025-01-02.csv",)],
    },
    "green": {
        "accounts": [("A1", "250", "EUR"), ("A2", "5", "EUR"), ("A3", "12", "CZK")],
        "deliveries": [("accounts/2025-01-03.csv",)],
    },
}
# failing node -> (status, owners), as the fixture project declares them
EXPECTED_FAILURES = {
    "unique_m_accounts_account_id": ("fail", ["Ledger team <ledger@example.org>"]),  # the group the test inherits
    "source_not_null_landing_deliveries_file_name": ("fail", ["Operations <ops@example.org>"]),  # source meta
    "loans_have_positive_principal": ("fail", ["Loan desk <loans@example.org>"]),  # meta.owner beats the group
    "m_whole_amounts": ("error", ["Risk team <risk@example.org>"]),  # a model's own group
}
OWNER_EMAILS = {"ledger@example.org", "ops@example.org", "loans@example.org", "risk@example.org"}


@pytest.fixture(scope="module")
def artifacts(server: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Findings]]:
    """`dbt build` of the fixture project on a failing night then a green one: night -> findings."""
    from dbt.cli.main import dbtRunner

    name = f"bankwh_alerts_{uuid.uuid4().hex[:8]}"
    with server.cursor() as cur:
        cur.execute(f'create database "{name}"')
    db, work = server.with_database(name), tmp_path_factory.mktemp("alerts_dbt")
    try:
        found = {}
        for night, rows in NIGHTS.items():
            _land(db, rows)
            target = work / night
            args = ["build", "--project-dir", str(ALERTS_PROJECT), "--profiles-dir", str(PROJECT_ROOT)]
            args += ["--target-path", str(target), "--log-path", str(work / "logs"), "--threads", "2"]
            with dbt_env(db):
                result = dbtRunner().invoke(args)
            assert result.exception is None, result.exception
            assert result.success is (night == "green")
            found[night] = findings_from_artifacts(target / "run_results.json", target / "manifest.json")
        yield found
    finally:
        with server.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')


def _land(db: Warehouse, rows: dict[str, list[tuple]]) -> None:
    """Write one night's landing tables, as a loader would before the build."""
    with db.cursor() as cur:
        cur.execute("create schema if not exists landing")
        cur.execute("drop table if exists landing.accounts, landing.deliveries")
        cur.execute("create table landing.accounts (account_id text, amount text, currency text)")
        cur.execute("create table landing.deliveries (file_name text)")
        cur.executemany("insert into landing.accounts values (%s, %s, %s)", rows["accounts"])
        cur.executemany("insert into landing.deliveries values (%s)", rows["deliveries"])


# --- the SMTP server ------------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the loopback SMTP server received: one entry per delivered message."""

    host: str
    port: int
    ca_file: Path
    received: list[dict] = field(default_factory=list)

    def to(self, address: str) -> list[EmailMessage]:
        return [m["message"] for m in self.received if address in m["rcpt"]]

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append(
            {
                "rcpt": list(envelope.rcpt_tos),
                "message": message_from_bytes(envelope.content, policy=policy.default),
                "tls": session.ssl is not None,
                "authenticated": session.authenticated,
            }
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key: the server's, and the only CA the client trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bankwh test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def _authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    valid = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=valid, handled=False)  # aiosmtpd answers 235 or 535 itself


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 that accepts mail only after STARTTLS and a login."""
    cert_file, key_file = _self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    box = Mailbox(host="127.0.0.1", port=_free_port(), ca_file=cert_file)
    controller = Controller(
        box,
        hostname=box.host,
        port=box.port,
        tls_context=tls,
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def _smtp_env(box: Mailbox, password: str = SMTP_PASSWORD) -> dict[str, str]:
    return {
        "BANKWH_ALERT_SMTP_HOST": box.host,
        "BANKWH_ALERT_SMTP_PORT": str(box.port),
        "BANKWH_ALERT_SMTP_USER": SMTP_USER,
        "BANKWH_ALERT_SMTP_PASSWORD": password,
        "BANKWH_ALERT_SMTP_FROM": "bankwh@example.org",
        "BANKWH_ALERT_SMTP_TO": TEAM,
        "BANKWH_ALERT_SMTP_CA_FILE": str(box.ca_file),
        "BANKWH_ALERT_TIMEOUT_S": "10",
    }


# --- the webhook receiver -------------------------------------------------------------------------------------


@dataclass
class Hook:
    url: str
    posts: list[dict] = field(default_factory=list)


@pytest.fixture
def hook() -> Iterator[Hook]:
    """An HTTP server on 127.0.0.1 that records each POST (path, content type, JSON body) and answers `ok`."""
    posts: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posts.append({"path": self.path, "type": self.headers["Content-Type"], "json": json.loads(body)})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            """Quiet: the test reads the posts, not the access log."""

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Hook(url=f"http://127.0.0.1:{httpd.server_port}/services/{WEBHOOK_SECRET}", posts=posts)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture
def conn(fresh_db: Warehouse) -> Iterator:
    """A psycopg2 connection to a database of its own, as the nightly flow would pass one."""
    connection = fresh_db.connect()
    try:
        yield connection
    finally:
        connection.close()


def _state(conn) -> dict[str, int]:
    with conn, conn.cursor() as cur:
        cur.execute("select alert_key, nights from monitoring.alert_state")
        return dict(cur.fetchall())


# --- the tests ------------------------------------------------------------------------------------------------


def test_findings_name_the_failures_warnings_and_declared_owners(artifacts: dict[str, Findings]) -> None:
    failing, green = artifacts["failing"], artifacts["green"]
    got = {f.name: (f.status, [o.label() for o in f.owners]) for f in failing.failures}
    assert got == EXPECTED_FAILURES
    assert all(f.failures == 1 for f in failing.failures if f.status == "fail")
    model_error = next(f for f in failing.failures if f.name == "m_whole_amounts")
    assert 'invalid input syntax for type integer: "12.5"' in model_error.message
    assert [(w.name, [o.label() for o in w.owners]) for w in failing.warnings] == [
        ("accepted_values_m_accounts_currency__EUR__CZK", ["Ledger team <ledger@example.org>"])
    ]
    assert failing.invocation_id and failing.invocation_id != green.invocation_id
    assert green.failures == () and green.warnings == ()
    assert {f.unique_id for f in failing.failures} <= green.passed


def test_failing_night_emails_the_team_and_each_owner_over_starttls_with_login(
    artifacts: dict[str, Findings], mailbox: Mailbox, conn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    outcome = send_alerts(conn, "night-1", artifacts["failing"], AlertConfig.from_env(_smtp_env(mailbox)))

    assert outcome.errors == ()
    assert sorted(outcome.emailed) == sorted({TEAM, *OWNER_EMAILS})
    assert all(m["tls"] and m["authenticated"] for m in mailbox.received)
    (team_mail,) = mailbox.to(TEAM)
    body = team_mail.get_content()
    for name, (_status, owners) in EXPECTED_FAILURES.items():
        assert f"NEW FAILURE: {'model' if name.startswith('m_') else 'test'} {name} owned by {owners[0]}" in body
    assert team_mail["Subject"] == "Bank warehouse alerts, run night-1: 4 new"
    assert team_mail["From"] == "bankwh@example.org"
    (ledger_mail,) = mailbox.to("ledger@example.org")
    assert "unique_m_accounts_account_id" in ledger_mail.get_content()
    assert "source_not_null_landing_deliveries_file_name" not in ledger_mail.get_content()
    assert "accepted_values" not in body  # warnings are logged, not mailed
    lines = [r.getMessage() for r in caplog.records if r.name == "bankwh.alerts"]
    assert sum(line.startswith("NEW FAILURE: ") for line in lines) == 4
    assert sum(line.startswith("WARNING: ") for line in lines) == 1


def test_webhook_receives_slack_compatible_json(artifacts: dict[str, Findings], hook: Hook, conn) -> None:
    config = AlertConfig.from_env({"BANKWH_ALERT_WEBHOOK_URL": hook.url})
    outcome = send_alerts(conn, "night-1", artifacts["failing"], config)

    assert outcome.webhook_posted and outcome.errors == () and outcome.emailed == ()
    (post,) = hook.posts
    assert post["path"] == f"/services/{WEBHOOK_SECRET}" and post["type"] == "application/json"
    assert list(post["json"]) == ["text"]
    text = post["json"]["text"]
    assert text.startswith("Bank warehouse: alerts of run night-1")
    for name, (_status, owners) in EXPECTED_FAILURES.items():
        assert f"{name} owned by {owners[0]}" in text


def test_second_failing_night_is_grouped_and_a_green_night_resolves_once(
    artifacts: dict[str, Findings], mailbox: Mailbox, hook: Hook, conn
) -> None:
    config = AlertConfig.from_env({**_smtp_env(mailbox), "BANKWH_ALERT_WEBHOOK_URL": hook.url})
    keys = sorted(f.unique_id for f in artifacts["failing"].failures)

    first = send_alerts(conn, "night-1", artifacts["failing"], config)
    assert sorted(first.keys("new")) == keys and _state(conn) == dict.fromkeys(keys, 1)

    second = send_alerts(conn, "night-2", artifacts["failing"], config)
    assert second.keys("new") == [] and sorted(second.keys("ongoing")) == keys
    assert _state(conn) == dict.fromkeys(keys, 2)
    team = mailbox.to(TEAM)
    assert len(team) == 2 and len(hook.posts) == 2  # one message a night, not one per failure
    night2 = team[1].get_content()
    assert team[1]["Subject"] == "Bank warehouse alerts, run night-2: 4 still failing"
    assert night2.count("STILL FAILING for 2 nights (since run night-1): ") == 4
    assert "NEW FAILURE" not in night2 and "NEW FAILURE" not in hook.posts[1]["json"]["text"]

    third = send_alerts(conn, "night-3", artifacts["green"], config)
    assert sorted(third.keys("resolved")) == keys and len(third.events) == 4
    assert _state(conn) == {}
    team = mailbox.to(TEAM)
    assert len(team) == 3 and len(hook.posts) == 3
    assert team[2]["Subject"] == "Bank warehouse alerts, run night-3: 4 resolved"
    assert team[2].get_content().count("RESOLVED after 2 nights: ") == 4
    assert all(len(mailbox.to(owner)) == 3 for owner in OWNER_EMAILS)  # each owner hears of its own, nightly
    assert all("RESOLVED after 2 nights" in mailbox.to(owner)[2].get_content() for owner in OWNER_EMAILS)

    fourth = send_alerts(conn, "night-4", artifacts["green"], config)
    assert fourth.events == () and len(mailbox.to(TEAM)) == 3 and len(hook.posts) == 3


def test_the_same_run_twice_counts_one_night_and_an_unrun_node_stays_open(artifacts: dict[str, Findings], conn) -> None:
    config = AlertConfig.from_env({})  # the log only
    failing = artifacts["failing"]
    keys = sorted(f.unique_id for f in failing.failures)
    send_alerts(conn, "night-1", failing, config)
    again = send_alerts(conn, "night-1", failing, config)  # a retried task re-sends, it does not count
    assert sorted(again.keys("new")) == keys and _state(conn) == dict.fromkeys(keys, 1)

    selected = replace(artifacts["green"], passed=artifacts["green"].passed - {keys[0]})  # a night that ran not it
    partial = send_alerts(conn, "night-2", selected, config)
    assert sorted(partial.keys("resolved")) == keys[1:]
    assert _state(conn) == {keys[0]: 1}


def test_credentials_never_reach_the_log(
    artifacts: dict[str, Findings],
    mailbox: Mailbox,
    conn,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A refused login and an unreachable webhook are reported, without the password or the webhook's token."""
    caplog.set_level(logging.DEBUG)
    wrong_password = "Wr0ng-" + SMTP_PASSWORD
    unreachable = f"http://127.0.0.1:{_free_port()}/services/{WEBHOOK_SECRET}"
    env = {**_smtp_env(mailbox, password=wrong_password), "BANKWH_ALERT_WEBHOOK_URL": unreachable}
    outcome = send_alerts(conn, "night-1", artifacts["failing"], AlertConfig.from_env(env))

    assert outcome.emailed == () and mailbox.received == [] and not outcome.webhook_posted
    assert len(outcome.errors) == 2
    assert "SMTPAuthenticationError" in outcome.errors[0] and "URLError" in outcome.errors[1]
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")  # not the test server's log
    assert "alert delivery: SMTP 127.0.0.1" in ours and "alert delivery: webhook failed" in ours
    printed = capsys.readouterr()
    for secret in (SMTP_PASSWORD, WEBHOOK_SECRET):
        assert secret not in ours and secret not in printed.out + printed.err
        assert all(secret not in e for e in outcome.errors)
    assert SMTP_PASSWORD not in repr(AlertConfig.from_env(env))


def test_a_server_certificate_not_trusted_is_refused(artifacts: dict[str, Findings], mailbox: Mailbox, conn) -> None:
    """STARTTLS checks the certificate: without the test's CA file the system's CAs do not know it, and nothing
    (no login, no message) is sent."""
    env = {k: v for k, v in _smtp_env(mailbox).items() if k != "BANKWH_ALERT_SMTP_CA_FILE"}
    outcome = send_alerts(conn, "night-1", artifacts["failing"], AlertConfig.from_env(env))

    assert outcome.emailed == () and mailbox.received == []
    assert len(outcome.errors) == 1 and "SSLCertVerificationError" in outcome.errors[0]


def test_settings_that_would_leak_or_cannot_be_read_are_refused() -> None:
    with pytest.raises(AlertConfigError, match="in clear"):
        AlertConfig.from_env({"BANKWH_ALERT_SMTP_USER": "u", "BANKWH_ALERT_SMTP_STARTTLS": "0"})
    with pytest.raises(AlertConfigError, match="SMTP_PORT"):
        AlertConfig.from_env({"BANKWH_ALERT_SMTP_PORT": "twenty-five"})
    with pytest.raises(AlertConfigError, match="http"):
        AlertConfig.from_env({"BANKWH_ALERT_WEBHOOK_URL": "file:///etc/passwd"})
    config = AlertConfig.from_env({"BANKWH_ALERT_SMTP_TO": " a@example.org, ,b@example.org "})
    assert config.smtp_to == ("a@example.org", "b@example.org") and config.smtp_host is None
