"""Where alerts go, read only from the environment, so no credential is ever written in a file of the repository.

| variable | meaning |
|---|---|
| `BANKWH_ALERT_SMTP_HOST` | SMTP server; e-mail is sent only when it is set |
| `BANKWH_ALERT_SMTP_PORT` | default 587 |
| `BANKWH_ALERT_SMTP_STARTTLS` | `1` (default) or `0`; a login is refused without STARTTLS |
| `BANKWH_ALERT_SMTP_USER`, `BANKWH_ALERT_SMTP_PASSWORD` | login, when the server wants one |
| `BANKWH_ALERT_SMTP_FROM` | sender address, default `bank-warehouse@localhost` |
| `BANKWH_ALERT_SMTP_TO` | comma-separated addresses that receive every alert (besides the owners') |
| `BANKWH_ALERT_SMTP_CA_FILE` | a CA bundle to trust for STARTTLS instead of the system's |
| `BANKWH_ALERT_WEBHOOK_URL` | Slack-compatible incoming webhook; posted to only when set |
| `BANKWH_ALERT_TIMEOUT_S` | time limit of one SMTP or webhook exchange, default 30 |

The anomaly checks' thresholds are `QualityConfig` below (`BANKWH_QUALITY_*`, with defaults).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TypeVar

PREFIX = "BANKWH_ALERT_"
DEFAULT_FROM = "bank-warehouse@localhost"
N = TypeVar("N", int, float)
TRUE, FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


class AlertConfigError(ValueError):
    """The alert settings in the environment contradict each other or cannot be read."""


@dataclass(frozen=True)
class AlertConfig:
    """Alert routing settings; the password and the webhook URL (a secret itself) are left out of repr."""

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_from: str = DEFAULT_FROM
    smtp_to: tuple[str, ...] = ()
    smtp_ca_file: str | None = None
    webhook_url: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AlertConfig:
        """The settings of the `BANKWH_ALERT_*` variables (see the module's docstring)."""
        env = {k[len(PREFIX) :]: v.strip() for k, v in (os.environ if environ is None else environ).items()
               if k.startswith(PREFIX) and v.strip()}  # fmt: skip
        config = cls(
            smtp_host=env.get("SMTP_HOST"),
            smtp_port=_number(env, "SMTP_PORT", 587, int),
            smtp_starttls=_flag(env, "SMTP_STARTTLS", True),
            smtp_user=env.get("SMTP_USER"),
            smtp_password=env.get("SMTP_PASSWORD"),
            smtp_from=env.get("SMTP_FROM", DEFAULT_FROM),
            smtp_to=tuple(a.strip() for a in env.get("SMTP_TO", "").split(",") if a.strip()),
            smtp_ca_file=env.get("SMTP_CA_FILE"),
            webhook_url=env.get("WEBHOOK_URL"),
            timeout_s=_number(env, "TIMEOUT_S", 30.0, float),
        )
        if config.webhook_url and not config.webhook_url.lower().startswith(("https://", "http://")):
            raise AlertConfigError(f"{PREFIX}WEBHOOK_URL must be an http(s) URL")
        if config.smtp_user and not config.smtp_starttls:
            raise AlertConfigError(f"{PREFIX}SMTP_USER is set with STARTTLS off: the password would travel in clear")
        return config

    def secrets(self) -> tuple[str, ...]:
        """The values no log line or error message may show."""
        return tuple(s for s in (self.smtp_password, self.webhook_url) if s)


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None:
        return default
    if value.lower() not in TRUE | FALSE:
        raise AlertConfigError(f"{PREFIX}{name} must be 1 or 0, not {value!r}")
    return value.lower() in TRUE


def _number(env: dict[str, str], name: str, default: N, kind: Callable[[str], N]) -> N:
    try:
        return kind(env[name]) if name in env else default
    except ValueError:
        prefix = QUALITY_PREFIX if name.islower() else PREFIX
        raise AlertConfigError(f"{prefix}{name.upper()} must be a number, not {env[name]!r}") from None


QUALITY_PREFIX = "BANKWH_QUALITY_"


@dataclass(frozen=True)
class QualityConfig:
    """Thresholds of the nightly anomaly checks (monitoring/anomalies.py), each overridable by the environment
    variable `BANKWH_QUALITY_<FIELD>` in upper case (`BANKWH_QUALITY_COUNT_TOLERANCE=0.5`); lists are comma separated.

    Why these defaults: a day is compared with the same weekday of the previous `window_weeks` weeks (a Sunday with
    Sundays, a Friday with Fridays), because a bank's weekend is not a quiet weekday; the expected range is the
    median of those days widened by `sigmas` robust standard deviations (1.4826 x MAD), but never narrower than
    `count_tolerance` (or `amount_tolerance`) of the median: a few weeks of history are too few to trust a tight
    spread. Above the median the tolerances are `count_spike_tolerance` and `amount_spike_tolerance`: the bank's
    calendar (salary days, the card repayment day) multiplies some days' volume, and their amount far more, by
    design. Segments smaller than `min_daily_rows` a day are too noisy to check.
    """

    window_weeks: int = 6
    min_history: int = 3
    check_days: int = 28
    alert_days: int = 2
    sigmas: float = 3.0
    count_tolerance: float = 0.4
    amount_tolerance: float = 0.75
    count_spike_tolerance: float = 3.0
    amount_spike_tolerance: float = 50.0
    min_daily_rows: int = 20
    rejected_share_max: float = 0.10
    fraud_rate_tolerance: float = 1.0
    fraud_rate_floor: float = 0.01
    fraud_window_days: int = 28
    source_systems: tuple[str, ...] = ("core_banking",)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> QualityConfig:
        """The defaults, overridden by every `BANKWH_QUALITY_*` variable that is set (unknown names are refused)."""
        source = os.environ if environ is None else environ
        env = {k[len(QUALITY_PREFIX) :].lower(): v.strip() for k, v in source.items()
               if k.startswith(QUALITY_PREFIX) and v.strip()}  # fmt: skip
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(env) - set(known))
        if unknown:
            names = ", ".join(QUALITY_PREFIX + u.upper() for u in unknown)
            raise AlertConfigError(f"unknown quality setting(s) {names}; known: {', '.join(sorted(known))}")
        values: dict[str, object] = {}
        for name, text in env.items():
            default = getattr(cls, name)
            if isinstance(default, tuple):
                values[name] = tuple(v.strip() for v in text.split(",") if v.strip())
            else:
                values[name] = _number({name: text}, name, default, type(default))
        config = cls(**values)
        if config.window_weeks < 1 or config.min_history < 1 or config.check_days < 1 or config.alert_days < 0:
            raise AlertConfigError(f"{QUALITY_PREFIX}WINDOW_WEEKS, MIN_HISTORY and CHECK_DAYS must be at least 1")
        return config
