"""The pseudonym key: where it comes from, and how it reaches dbt without being written anywhere.

Direct identifiers (names, IBANs) reach the marts only as HMAC-SHA256 pseudonyms computed by PostgreSQL
(macros/privacy.sql). The key comes from, in order:

1. `BANKWH_PSEUDONYM_KEY` (any text; its UTF-8 bytes are the key), the production setting;
2. `BANKWH_PSEUDONYM_KEY_BLOCK`, the name of a Prefect Secret block holding it (read through the Prefect API);
3. for the embedded demo, `.warehouse/pseudonym.key`: 32 random bytes (hex) generated on first use, mode 0600.

It reaches dbt as the libpq variable PGOPTIONS (`-c bankwh.pseudonym_key=<hex>`), set only for the duration of a dbt
call: every connection dbt opens carries it as a session setting the pseudonym function reads. dbt never renders it,
so it is absent from compiled SQL, manifest.json, run_results.json, partial_parse.msgpack and dbt.log, which a
dbt var or env_var() in a model would not guarantee.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from warehouse.embedded import warehouse_dir

KEY_ENV = "BANKWH_PSEUDONYM_KEY"
BLOCK_ENV = "BANKWH_PSEUDONYM_KEY_BLOCK"
KEY_FILE = "pseudonym.key"
SETTING = "bankwh.pseudonym_key"
#: HMAC-SHA256 hashes a key longer than SHA-256's block to 32 bytes first; done here so the setting stays short.
BLOCK_SIZE = 64
_OWN_OPTION = re.compile(r"-c\s*" + re.escape(SETTING) + r"=\S*")


def key_file(root: Path | None = None) -> Path:
    """The demo key's place: under .warehouse/ (git-ignored), beside the embedded server's data."""
    return (root or warehouse_dir()) / KEY_FILE


def _generated_key(path: Path) -> bytes:
    """The key in `path`, created (32 random bytes, hex, mode 0600) when missing; a wider mode is tightened."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    else:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32) + "\n")
    text = path.read_text(encoding="ascii").strip()
    if not text:
        raise RuntimeError(f"pseudonym key file {path} is empty: delete it to generate a new key (pseudonyms change)")
    return text.encode("utf-8")


def _block_key(name: str) -> bytes:
    from prefect.blocks.system import Secret

    return str(Secret.load(name).get()).encode("utf-8")


def resolve_key(environ: Mapping[str, str] | None = None, root: Path | None = None) -> bytes:
    """The pseudonym key's bytes: the environment, else the named Prefect secret block, else the demo key file."""
    environ = os.environ if environ is None else environ
    if environ.get(KEY_ENV):
        return environ[KEY_ENV].encode("utf-8")
    if environ.get(BLOCK_ENV):
        return _block_key(environ[BLOCK_ENV])
    return _generated_key(key_file(root))


def session_key(key: bytes) -> str:
    """The key as the session setting carries it: hex, hashed first when longer than the HMAC block (as HMAC does)."""
    if len(key) > BLOCK_SIZE:
        key = hashlib.sha256(key).digest()
    return key.hex()


def pseudonym(value: str, key: bytes) -> str:
    """What privacy.pseudonym(value) returns in PostgreSQL: hex HMAC-SHA256 of the value's UTF-8 bytes."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def pgoptions(key: bytes, current: str = "") -> str:
    """PGOPTIONS with the key's setting added (an earlier setting of it replaced, other options kept)."""
    rest = _OWN_OPTION.sub("", current).strip()
    return f"{rest} -c {SETTING}={session_key(key)}".strip()


@contextmanager
def key_for_dbt(key: bytes | None = None) -> Iterator[bytes]:
    """PGOPTIONS carries the key while the block runs (dbt in this process), and is restored afterwards."""
    key = resolve_key() if key is None else key
    previous = os.environ.get("PGOPTIONS")
    os.environ["PGOPTIONS"] = pgoptions(key, previous or "")
    try:
        yield key
    finally:
        if previous is None:
            os.environ.pop("PGOPTIONS", None)
        else:
            os.environ["PGOPTIONS"] = previous
