"""Survey answers (NPS 0–10, CSAT 1–5): the backing data of the bank API's survey endpoint."""

from __future__ import annotations

import numpy as np

from . import catalog as cat
from .entities import client_id
from .settings import Calendar
from .state import State

SURVEY_COLUMNS = ["response_id", "client_id", "survey_date", "channel", "nps_score", "csat_score", "comment",
                  "answered_at"]  # fmt: skip


def survey_rows(rng: np.random.Generator, state: State, cal: Calendar, day: int) -> list[list[str]]:
    """Answers received today for surveys sent 0–3 days ago; riskier clients are a little less happy."""
    n_clients = len(state.cl_segment)
    k = int(rng.poisson(n_clients * 0.002))
    clients = np.sort(rng.choice(n_clients, k)) if k else np.zeros(0, np.int64)
    mood = 7.6 - 0.35 * (state.cl_risk[clients] - 1) + 0.4 * (state.cl_segment[clients] == 2)
    nps = np.clip(np.round(rng.normal(mood, 2.2)), 0, 10).astype(np.int64)
    csat = np.clip(np.round(1 + nps * 0.4 + rng.normal(0, 0.6, k)), 1, 5).astype(np.int64)
    sent = day - rng.integers(0, 4, k)
    secs = np.sort(rng.integers(7 * 3600, 23 * 3600, k))
    answered = cal.timestamps(np.full(k, day), secs)
    channel = rng.choice(cat.SURVEY_CHANNELS, k, p=[0.4, 0.25, 0.2, 0.1, 0.05])
    ids = state.next_ids("response", k)
    rows = []
    for j in range(k):
        group = "detractor" if nps[j] <= 6 else "passive" if nps[j] <= 8 else "promoter"
        options = cat.SURVEY_COMMENTS[group]
        comment = options[int(rng.integers(len(options)))] if rng.random() < 0.5 else ""
        rows.append([f"R{ids[j]:08d}", client_id(int(clients[j])), cal.iso(int(sent[j])), str(channel[j]),
                     str(nps[j]), str(csat[j]), comment, answered[j]])  # fmt: skip
    return rows
