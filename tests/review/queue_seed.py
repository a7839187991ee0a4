"""Review items of several models, reasons and labels, written through the store's
batch write (the path the server's writer takes)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from tandem.domain import REVIEW_REASONS, Prediction, ReviewItem
from tandem.ids import new_id
from tandem.store.base import Store
from tandem.store.prediction_log import LogEntry

LABELS = {"digits": [str(d) for d in range(10)], "churn": ["stays", "leaves"]}
T0 = datetime.now(UTC) - timedelta(days=10)


def seed(store: Store, count: int, seed: int = 3, start: int = 0) -> list[ReviewItem]:
    """`count` pending items, one a minute from T0 + `start` minutes."""
    rng = random.Random(seed)
    entries, items = [], []
    for i in range(start, start + count):
        model = rng.choice(list(LABELS))
        label = rng.choice(LABELS[model])
        at = T0 + timedelta(minutes=i)
        confidence = round(rng.random(), 3)  # ties happen: ids must break them
        offered = [{"label": lab, "probability": 0.1} for lab in LABELS[model]]
        pid = new_id()
        prediction = Prediction(
            pid, at, model, "v1", {"x": i}, {}, label, confidence, offered, [], [], "review", 1.0
        )
        item = ReviewItem(new_id(), pid, "pending", at, rng.choice(REVIEW_REASONS))
        entries.append(LogEntry(prediction, item))
        items.append(item)
    store.add_predictions(entries)
    return [store.get_review(i.id) for i in items]
