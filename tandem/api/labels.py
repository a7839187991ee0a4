"""GET /v1/labels: every labelled prediction with its final label and provenance,
cursor-paged JSON, or the whole set streamed as CSV, JSON Lines or Parquet."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from tandem.api.errors import KEYED, responses
from tandem.api.schemas import LabelPage
from tandem.clock import parse_when
from tandem.registry.names import MODEL_NAME_PATTERN
from tandem.review.labels import FORMATS, MEDIA_TYPES, encode, parquet_module
from tandem.web.access import Reviewer
from tandem.web.state import Svc

router = APIRouter(prefix="/v1", responses=responses(*KEYED, 422))


_FILES = {
    200: {
        "description": "A page of rows (JSON), or with `format`, every row as a file.",
        "content": {MEDIA_TYPES[f].split(";")[0]: {} for f in FORMATS},
    }
}


@router.get(
    "/labels",
    tags=["labels"],
    response_model=LabelPage,
    responses=_FILES,  # type: ignore[arg-type]
)
def list_labels(
    svc: Svc,
    who: Reviewer,
    model: Annotated[
        str | None, Query(pattern=MODEL_NAME_PATTERN, description="Only this model's labels.")
    ] = None,
    since: Annotated[
        str | None, Query(description="ISO time: predictions labelled at or after it.")
    ] = None,
    cursor: Annotated[str | None, Query(description="The `next` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    format: Annotated[
        Literal["json", "csv", "jsonl", "parquet"] | None,
        Query(description="json: this page; csv, jsonl, parquet: every row, streamed as a file."),
    ] = None,
) -> Any:
    """One row per labelled prediction: input, features, the model's label and
    confidence, the final label (adjudication > review > import > feedback) with its
    source, author, role and time, how many kept labels disagree, and the holdout flag.
    A prediction whose second opinion is pending is left out for reviewers (not admins),
    so the second reviewer cannot read the first answer here."""
    when = parse_when(since, "since")
    role = who.role.value
    if format is None or format == "json":
        items, nxt = svc.reviews.label_rows(model, when, cursor, limit, role)
        return LabelPage.model_validate({"items": items, "next": nxt})
    if format == "parquet":
        parquet_module()  # a clear 422 before the response starts when pyarrow is missing
    name = f"labels{'-' + model if model else ''}.{format}"
    return StreamingResponse(
        encode(svc.reviews.all_label_rows(model, when, role), format),
        media_type=MEDIA_TYPES[format],
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
