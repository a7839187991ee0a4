"""Each model's guidelines for reviewers: GET (reviewers read them) and PUT (admins
write them) /v1/models/{name}/guidelines. Outside the models router, which is admin
only: the people who follow guidelines must be able to read them."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from tandem.api.errors import KEYED, responses
from tandem.domain import Guidelines
from tandem.registry.registry import MAX_GUIDELINES
from tandem.web.access import REVIEWER, Admin
from tandem.web.markup import markdown_html
from tandem.web.state import Svc

router = APIRouter(prefix="/v1/models", tags=["models"], responses=responses(*KEYED, 404))


class GuidelinesEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    markdown: str = Field(
        description=(
            f"The guidelines in Markdown (CommonMark with tables), at most "
            f"{MAX_GUIDELINES:,} characters; empty text clears them."
        )
    )


class GuidelinesOut(BaseModel):
    model: str
    markdown: str = Field(description="As the admin wrote them; empty: none yet.")
    html: str = Field(description="Rendered and sanitised: what the review pages show.")
    edited_by: str | None = Field(description="The key name of the last editor.")
    edited_at: datetime | None

    @classmethod
    def of(cls, model: str, g: Guidelines | None) -> GuidelinesOut:
        if g is None:
            return cls(model=model, markdown="", html="", edited_by=None, edited_at=None)
        html = str(markdown_html(g.markdown))
        return cls(
            model=model,
            markdown=g.markdown,
            html=html,
            edited_by=g.edited_by,
            edited_at=g.edited_at,
        )


@router.get("/{name}/guidelines", response_model=GuidelinesOut, dependencies=[REVIEWER])
def get_guidelines(name: str, svc: Svc) -> GuidelinesOut:
    """The model's guidelines for reviewers, with who last edited them and when."""
    svc.registry.check_known(name)
    return GuidelinesOut.of(name, svc.registry.guidelines(name))


@router.put("/{name}/guidelines", response_model=GuidelinesOut, responses=responses(413, 422))
def put_guidelines(name: str, body: GuidelinesEdit, svc: Svc, who: Admin) -> GuidelinesOut:
    """Replace the model's guidelines (admins only); the editor recorded is the caller's
    key name. Every edit is kept."""
    g = svc.registry.edit_guidelines(name, body.markdown, who.name)
    return GuidelinesOut.of(name, g)
