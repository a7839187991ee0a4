"""Whether a model's suggestions help its writers: per kind of suggestion, how often it
was shown, rated helpful, followed, and how the score moved after following it; and
the share of drafts whose score rose. The lead metric for a model with suggestions:
if writers do not improve their writing, the model is useless."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tandem.store.editor_store import EditorStore, SuggestionFeedbackFilter


@dataclass(frozen=True, slots=True)
class SuggestionUse:
    suggestion: str
    feature: str | None
    text: str
    shown: int
    """Times it was shown in a draft's revision."""
    rated: int
    helpful: int
    """Ratings in all, and how many said helpful."""
    judged: int
    followed: int
    """Times a next revision came after it (judged), and how many followed it."""
    mean_change_followed: float | None
    """Mean change of the writer's score from the revision that showed it to the next,
    over the times it was followed."""

    @property
    def share_helpful(self) -> float | None:
        return self.helpful / self.rated if self.rated else None

    @property
    def share_followed(self) -> float | None:
        return self.followed / self.judged if self.judged else None


@dataclass(frozen=True, slots=True)
class Usefulness:
    model: str
    drafts: int
    revised: int
    """Drafts scored more than once: the ones whose score could rise."""
    rose: int
    """Revised drafts whose last score is above their first."""
    suggestions: list[SuggestionUse]

    @property
    def share_rose(self) -> float | None:
        return self.rose / self.revised if self.revised else None


def usefulness(
    store: EditorStore, model: str, since: datetime, until: datetime
) -> Usefulness | None:
    """The usefulness of `model`'s suggestions over drafts revised in [since, until);
    None when it had no drafts there."""
    shown = store.shown_revisions(model, since, until)
    if not shown:
        return None
    first: dict[str, float | None] = {}
    last: dict[str, float | None] = {}
    revisions: dict[str, int] = {}
    counts: dict[str, int] = {}
    about: dict[str, tuple[str | None, str]] = {}
    for item in shown:
        r = item.revision
        first.setdefault(r.draft, r.score)
        last[r.draft] = r.score
        revisions[r.draft] = revisions.get(r.draft, 0) + 1
        for s in item.suggestions:
            sid = str(s["id"])
            counts[sid] = counts.get(sid, 0) + 1
            about.setdefault(sid, (s.get("feature"), str(s.get("text", ""))))
    revised = [d for d, n in revisions.items() if n > 1]
    rose = sum(
        1 for d in revised if (a := first[d]) is not None and (b := last[d]) is not None and b > a
    )
    where = SuggestionFeedbackFilter(model=model, since=since, until=until)
    rated: dict[str, list[bool]] = {}
    for rating in store.list_suggestion_ratings(where):
        rated.setdefault(rating.suggestion, []).append(rating.helpful)
    judged: dict[str, list[tuple[bool, float | None]]] = {}
    for outcome in store.list_suggestion_outcomes(where):
        judged.setdefault(outcome.suggestion, []).append((outcome.followed, outcome.score_change))
    uses = []
    for sid in sorted(set(counts) | set(rated) | set(judged)):
        outcomes = judged.get(sid, [])
        changes = [c for followed, c in outcomes if followed and c is not None]
        feature, text = about.get(sid, (None, ""))
        uses.append(
            SuggestionUse(
                suggestion=sid,
                feature=feature,
                text=text,
                shown=counts.get(sid, 0),
                rated=len(rated.get(sid, [])),
                helpful=sum(rated.get(sid, [])),
                judged=len(outcomes),
                followed=sum(1 for followed, _ in outcomes if followed),
                mean_change_followed=sum(changes) / len(changes) if changes else None,
            )
        )
    uses.sort(key=lambda u: (-u.shown, u.suggestion))
    return Usefulness(model, len(revisions), len(revised), rose, uses)
