"""Load Stack Exchange `Posts.xml` dumps and apply the fixed label rule.

Any site's dump works: each `Posts.xml` under the data folder is one site, named
after its folder. Label rule (fixed with the data): within a site, a question
is `good` when its Score is strictly above that site's median question Score.
"""

from __future__ import annotations

import hashlib
import statistics
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from tandem.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Question:
    site: str
    id: int
    title: str
    body: str  # HTML, as in the dump
    score: int
    tags: tuple[str, ...]
    label: str = ""


def find_dumps(data_dir: Path) -> list[Path]:
    """Every `Posts.xml` below `data_dir` (accepts the folder of one site, too)."""
    if not data_dir.is_dir():
        raise InvalidInput(
            f"data folder {data_dir} does not exist; set TANDEM_DATA_DIR or pass --data to a "
            "folder holding Stack Exchange dumps (<site>/Posts.xml)"
        )
    dumps = sorted(data_dir.rglob("Posts.xml"))
    if not dumps:
        raise InvalidInput(
            f"no Posts.xml found under {data_dir}; download a site's dump from the Stack "
            "Exchange data dump and unpack it as <site>/Posts.xml"
        )
    return dumps


def _tags(raw: str) -> tuple[str, ...]:
    # Two spellings exist across dump years: "<a><b>" and "|a|b|".
    if raw.startswith("<"):
        return tuple(t for t in raw.strip("<>").split("><") if t)
    return tuple(t for t in raw.split("|") if t)


def read_questions(path: Path) -> list[Question]:
    """Questions (PostTypeId=1) of one dump, streamed so large sites fit in memory."""
    site = path.parent.name
    out: list[Question] = []
    try:
        for _event, elem in ET.iterparse(path, events=("end",)):
            if elem.tag != "row":
                continue
            attrs = elem.attrib
            if attrs.get("PostTypeId") == "1":
                out.append(
                    Question(
                        site=site,
                        id=int(attrs["Id"]),
                        title=attrs.get("Title", ""),
                        body=attrs.get("Body", ""),
                        score=int(attrs.get("Score", "0")),
                        tags=_tags(attrs.get("Tags", "")),
                    )
                )
            elem.clear()
    except ET.ParseError as exc:
        raise InvalidInput(f"{path} is not a Stack Exchange Posts.xml: {exc}") from exc
    except (KeyError, ValueError) as exc:
        raise InvalidInput(f"{path} has a malformed row: {exc}") from exc
    return out


def label_by_site_median(questions: list[Question]) -> list[Question]:
    by_site: dict[str, list[int]] = {}
    for q in questions:
        by_site.setdefault(q.site, []).append(q.score)
    medians = {site: statistics.median(scores) for site, scores in by_site.items()}
    return [
        Question(
            q.site,
            q.id,
            q.title,
            q.body,
            q.score,
            q.tags,
            "good" if q.score > medians[q.site] else "poor",
        )
        for q in questions
    ]


def load_dataset(data_dir: Path) -> tuple[list[Question], str]:
    """All labelled questions under `data_dir` and a hash of the files they came from."""
    dumps = find_dumps(data_dir)
    digest = hashlib.sha256()
    questions: list[Question] = []
    for path in dumps:
        digest.update(path.parent.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
        questions.extend(read_questions(path))
    if not questions:
        raise InvalidInput(f"the dumps under {data_dir} hold no questions (PostTypeId=1)")
    return label_by_site_median(questions), digest.hexdigest()
