"""Model calls that queue for a worker process go to it together, one frame and one
reply, and each answers exactly as it would alone (and as the in-process path does);
one input that raises, or kills its worker, costs only its own call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sklearn.datasets import load_digits

from tandem.models.artifacts import ArtifactStore
from tandem.models.interface import ModelFamily, TrainedArtifact
from tandem.models.scoring import Answer, score_logged
from tandem.predict.isolation import Key, ModelError, ProcessPool, Source, WorkerCrashed
from tandem_examples.digits.family import family as digits
from tandem_examples.ml_editor.data import find_dumps, read_questions
from tandem_examples.ml_editor.family import family as ml_editor
from tandem_examples.ml_editor.schema import Question
from tests.fakes import FakeFamily, artifact

CALLS = 24


def _version(family: ModelFamily, trained: TrainedArtifact, root: Path) -> tuple[Key, Source]:
    sha = ArtifactStore(root).put(trained.content)
    return (family.name, "v1", sha), Source(family, root, sha, "v1")


def _plain(answer: Answer) -> tuple[Any, ...]:
    return (
        answer.features,
        answer.probabilities.tolist(),
        [(c.feature, c.value, c.contribution) for c in answer.explanation],
        answer.suggestions,
        answer.highlights,
    )


def _questions(data_dir: Path) -> list[dict[str, Any]]:
    """Real questions the model accepts, from every site's dump."""
    out = []
    for dump in find_dumps(data_dir):
        for q in read_questions(dump)[: CALLS // 2]:
            if len(q.title) >= 5 and q.body.strip():
                out.append(Question(title=q.title, body=q.body).model_dump(mode="json"))
    return out[:CALLS]


def _digits() -> list[dict[str, Any]]:
    return [{"pixels": [int(v) for v in scan]} for scan in load_digits().data[:CALLS]]


async def _run_all(
    pool: ProcessPool, key: Key, source: Source, inputs: list[dict[str, Any]], kind: str = "score"
) -> list[Any]:
    """Every input at once (they queue for the one worker), each call's answer or error."""
    calls = [pool.run(kind, source, key, data, 10.0) for data in inputs]
    return await asyncio.gather(*calls, return_exceptions=True)


@pytest.mark.parametrize("example", ["ml-editor", "digits"])
def test_batched_answers_are_the_answers_alone_and_in_process(
    example: str,
    tmp_path: Path,
    data_dir: Path,
    ml_editor_artifact: TrainedArtifact,
    digits_artifact: TrainedArtifact,
) -> None:
    family: ModelFamily
    if example == "ml-editor":
        family, trained, inputs = ml_editor, ml_editor_artifact, _questions(data_dir)
    else:
        family, trained, inputs = digits, digits_artifact, _digits()
    assert len(inputs) == CALLS
    key, source = _version(family, trained, tmp_path)
    predictor = source.load()
    in_process = [_plain(score_logged(predictor, data)) for data in inputs]

    async def scored() -> tuple[list[Any], list[Any], int]:
        pool = ProcessPool(1)
        try:
            alone = [await pool.run("score", source, key, data, 10.0) for data in inputs]
            assert pool.batches == 0  # a call that finds its worker idle goes alone
            together = await _run_all(pool, key, source, inputs)
            return alone, together, pool.batches
        finally:
            await asyncio.to_thread(pool.close)

    alone, together, batches = asyncio.run(scored())
    assert batches >= 1  # the calls queued behind the first went in batches
    assert [_plain(a) for a in alone] == in_process
    assert [_plain(a) for a in together] == in_process


def _picky(tmp_path: Path) -> tuple[Key, Source]:
    return _version(FakeFamily(), artifact("picky", isolation="process"), tmp_path)


def _outcomes(tmp_path: Path, texts: list[str], check: Callable[[ProcessPool], None]) -> list[Any]:
    """Each text's outcome with the first call holding the one worker while the others
    queue behind it (so they go as one batch)."""
    key, source = _picky(tmp_path)

    async def run() -> list[Any]:
        pool = ProcessPool(1)
        try:
            await pool.run("score", source, key, {"text": "warm"}, 10.0)  # loads the version
            out = await _run_all(pool, key, source, [{"text": t} for t in texts])
            check(pool)
            return out
        finally:
            await asyncio.to_thread(pool.close)

    return asyncio.run(run())


def test_an_input_that_raises_fails_only_its_own_call_in_a_batch(tmp_path: Path) -> None:
    def one_batch(pool: ProcessPool) -> None:
        assert (pool.batches, pool.batched) == (1, 4)

    outcomes = _outcomes(tmp_path, ["slow", "a", "raise", "bb", "ccc"], one_batch)
    assert isinstance(outcomes[2], ModelError) and outcomes[2].kind == "ZeroDivisionError"
    answered = [o for i, o in enumerate(outcomes) if i != 2]
    assert [a.features["length"] for a in answered] == [4.0, 1.0, 2.0, 3.0]


def test_a_worker_dying_in_a_batch_costs_only_the_input_that_killed_it(tmp_path: Path) -> None:
    def batch_then_alone(pool: ProcessPool) -> None:
        # The batch died with its worker; each of its calls went again on its own.
        assert (pool.batches, pool.batched) == (1, 3)

    outcomes = _outcomes(tmp_path, ["slow", "a", "segfault", "bb"], batch_then_alone)
    assert isinstance(outcomes[2], WorkerCrashed)
    answered = [o for i, o in enumerate(outcomes) if i != 2]
    assert [a.features["length"] for a in answered] == [4.0, 1.0, 2.0]
