"""An image model's review item shows the image and a heat map, not numbers."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import predict, predict_digits


def test_digit_is_drawn_with_heat_map_and_top3(digits_client: TestClient) -> None:
    [body] = predict_digits(digits_client, 1)  # a real scan of a "0"
    assert len(body["explanation"]) == 64
    predict(digits_client)  # a text item in the same queue stays text

    html = digits_client.get("/review").text
    item = html[html.index(f'data-review-id="{body["review_id"]}"') :]
    item = item[: item.index("</section>")]
    image = item[item.index('class="pixels digit-image"') : item.index("</figure>")]
    assert len(re.findall(r"<span ", image)) == 64
    assert "rgba(20,24,33,0.000)" in image and "rgba(20,24,33,0.938)" in image  # 0 and 15
    heat = item[item.index('class="pixels heat-map"') :]
    assert len(re.findall(r"<span ", heat[: heat.index("</div>")])) == 64
    assert "rgba(31,122,77," in heat  # ink that supports the label
    assert "[0.0, 0.0, 5.0" not in item  # not printed as a list of numbers
    others = [a["label"] for a in body["alternatives"][1:3]]
    assert all(f"Change to “{label}”" in item for label in others)
    assert 'class="text input-title"' in html  # the ML Editor item is still text
