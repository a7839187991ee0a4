"""Model cards: drafted at training time from the family's prose and the measured
metrics, edited by people, served as a page and as Markdown."""

from __future__ import annotations

from typing import Any

from tandem.clock import utcnow
from tandem.domain import ModelVersion
from tandem.errors import InvalidInput
from tandem.models.interface import CARD_SECTIONS, TrainedArtifact
from tandem.registry.training_labels import record_of

TITLES = {
    "intended_use": "Intended use",
    "out_of_scope": "Out-of-scope use",
    "training_data": "Training data",
    "limitations": "Known limitations",
    "fallback": "Fallback",
}


def draft_card(defaults: dict[str, str], trained: TrainedArtifact) -> dict[str, Any]:
    sections = {key: defaults.get(key, "") for key in CARD_SECTIONS}
    return {"sections": sections, "edited_by": None, "edited_at": None, "report": trained.report}


def edit_card(card: dict[str, Any], changes: dict[str, str], editor: str) -> dict[str, Any]:
    unknown = set(changes) - set(CARD_SECTIONS)
    if unknown:
        raise InvalidInput(
            f"unknown card section(s) {', '.join(sorted(unknown))}; "
            f"sections are {', '.join(CARD_SECTIONS)}"
        )
    if not editor.strip():
        raise InvalidInput("a card edit needs the editor's name")
    sections = {**card.get("sections", {}), **{k: v.strip() for k, v in changes.items()}}
    return {
        **card,
        "sections": sections,
        "edited_by": editor.strip(),
        "edited_at": utcnow().isoformat(),
    }


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def _training_labels(mv: ModelVersion) -> list[str]:
    record = record_of(mv)
    if record is None:
        return ["Trained on its dataset: no labels from people."]
    return [
        f"- labels: {record['count']}",
        f"- given from {record['earliest'] or '–'} to {record['latest'] or '–'} "
        "(the latest is its cut-off: only labels after it, and holdout labels, evaluate it)",
        f"- label set hash (sha256 of the sorted prediction id, label pairs): `{record['hash']}`",
        f"- holdout labels it was evaluated on when trained: {record['holdout_evaluated']}",
    ]


def render_markdown(mv: ModelVersion) -> str:
    """The card as Markdown: prose sections, then the measured numbers."""
    card, m = mv.card, mv.metrics
    out = [
        f"# Model card: {mv.name} {mv.version}",
        "",
        f"- status: {mv.status}{' (shadow)' if mv.shadow else ''}",
        f"- created: {mv.created_at:%Y-%m-%d %H:%M} UTC",
        f"- training data hash: `{mv.data_hash}`",
        f"- artifact sha256: `{mv.artifact_sha256}`",
    ]
    if card.get("edited_by"):
        out.append(f"- last edited by {card['edited_by']} at {card['edited_at']}")
    for key in CARD_SECTIONS:
        out += ["", f"## {TITLES[key]}", "", card.get("sections", {}).get(key) or "_(empty)_"]
    out += ["", "## Labels from people it was trained on", "", *_training_labels(mv)]
    # "previous": the version a family's new kind of model replaces, on the same split.
    previous = m.get("previous")
    if "model" in m and "baseline" in m:
        out += [
            "",
            "## Metrics on the test split",
            "",
            "| metric | baseline |" + (" previous model |" if previous else "") + " model |",
            "|---|---|" + ("---|" if previous else "") + "---|",
        ]
        for key, value in m["model"].items():
            was = f" {_fmt(previous.get(key))} |" if previous else ""
            out.append(f"| {key} | {_fmt(m['baseline'].get(key))} |{was} {_fmt(value)} |")
    if m.get("live_holdout"):
        live = m["live_holdout"]
        out += [
            "",
            f"## Live holdout ({live['model']['n']} reviewed items)",
            "",
            "| metric | baseline | model |",
            "|---|---|---|",
        ]
        for key in ("accuracy", "f1_macro"):
            out.append(f"| {key} | {_fmt(live['baseline'][key])} | {_fmt(live['model'][key])} |")
    for slice_name, groups in m.get("slices", {}).items():
        out += [
            "",
            f"## Slice: {slice_name}",
            "",
            "| group | n | model accuracy | model ROC-AUC | baseline accuracy |"
            + (" previous model ROC-AUC |" if previous else ""),
            "|---|---|---|---|---|" + ("---|" if previous else ""),
        ]
        for group, values in groups.items():
            model, base = values["model"], values["baseline"]
            was = f" {_fmt(values['previous'].get('roc_auc'))} |" if "previous" in values else ""
            out.append(
                f"| {group} | {model['n']} | {_fmt(model['accuracy'])} | "
                f"{_fmt(model.get('roc_auc'))} | {_fmt(base['accuracy'])} |{was}"
            )
    return "\n".join(out) + "\n"
