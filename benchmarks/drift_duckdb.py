"""Tandem's drift numbers from exported Parquet files, in DuckDB SQL.

For logs larger than one database: `tandem predictions export` writes a window's logged
predictions (one column per feature) and, with --reference, the version's drift
reference; these queries compute from the two files the PSI of every numeric feature
(on the reference's decile edges computed as numpy.quantile does, to the last bit, so a
live value on an edge falls in the same bin; outer bins open, shares floored at 1e-4) and the
chi-square statistic of the predicted labels (reference vs the answered live rows), as
`tandem drift` does. With --tandem (the output of `tandem drift --json` over the same
window) it checks them against Tandem's and exits 1 when one differs by more than 1e-9.

Run: .venv/bin/python benchmarks/drift_duckdb.py LIVE.parquet REFERENCE.parquet
     [--bins 10] [--tandem drift.json]
DuckDB (benchmark extra): .venv/bin/pip install duckdb
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

PSI = """
WITH
ref AS (
  UNPIVOT (SELECT * EXCLUDE (label, confidence) FROM read_parquet($reference))
  ON COLUMNS(*) INTO NAME feature VALUE x),
live AS (
  UNPIVOT (SELECT * EXCLUDE (created_at, model, model_version, label, confidence, route)
           FROM read_parquet($live))
  ON COLUMNS(*) INTO NAME feature VALUE x),
ranked AS (
  SELECT feature, x, row_number() OVER (PARTITION BY feature ORDER BY x) - 1 AS i,
         count(*) OVER (PARTITION BY feature) AS n
  FROM ref),
points AS (  -- numpy.quantile's linear method, float for float: (n - 1) * q, then a lerp
  SELECT DISTINCT feature, n, (n - 1) * (k * (1::DOUBLE / $bins)) AS h
  FROM ranked, range(1, $bins) AS quantiles(k)),
edges AS (  -- the distinct inner edges of `bins` reference-quantile bins, numbered from 1
  SELECT DISTINCT p.feature,
    CASE WHEN p.h - floor(p.h) >= 0.5
         THEN b.x - (b.x - a.x) * (1 - (p.h - floor(p.h)))
         ELSE a.x + (b.x - a.x) * (p.h - floor(p.h)) END AS edge
  FROM points p
  JOIN ranked a ON a.feature = p.feature AND a.i = floor(p.h)::BIGINT
  JOIN ranked b ON b.feature = p.feature AND b.i = least(floor(p.h)::BIGINT + 1, p.n - 1)),
numbered AS (
  SELECT feature, edge, row_number() OVER (PARTITION BY feature ORDER BY edge) AS k
  FROM edges),
bins AS (SELECT feature, unnest(range(count(*) + 1)) AS bin FROM numbered GROUP BY feature),
ref_n AS (  -- bin k holds the values above k edges: (-inf, e1], (e1, e2], ..., (ek, inf)
  SELECT r.feature, coalesce(e.k, 0) AS bin, count(*) AS n
  FROM ref r ASOF LEFT JOIN numbered e ON r.feature = e.feature AND r.x > e.edge
  GROUP BY ALL),
live_n AS (
  SELECT l.feature, coalesce(e.k, 0) AS bin, count(*) AS n
  FROM live l ASOF LEFT JOIN numbered e ON l.feature = e.feature AND l.x > e.edge
  GROUP BY ALL),
shares AS (
  SELECT feature,
    greatest(coalesce(r.n, 0) / sum(coalesce(r.n, 0)) OVER (PARTITION BY feature), 1e-4) AS p,
    greatest(coalesce(l.n, 0) / sum(coalesce(l.n, 0)) OVER (PARTITION BY feature), 1e-4) AS q
  FROM bins LEFT JOIN ref_n r USING (feature, bin) LEFT JOIN live_n l USING (feature, bin))
SELECT feature, sum((q - p) * ln(q / p)) AS psi FROM shares GROUP BY feature ORDER BY feature
"""

LABELS_CHI2 = """
WITH
r AS (SELECT label, count(*) AS a FROM read_parquet($reference) GROUP BY label),
l AS (SELECT label, count(*) AS b FROM read_parquet($live)
      WHERE route <> 'fallback' GROUP BY label),
t AS (SELECT coalesce(a, 0) AS a, coalesce(b, 0) AS b FROM r FULL JOIN l USING (label)),
s AS (SELECT a, b, sum(a) OVER () AS na, sum(b) OVER () AS nb FROM t)
SELECT  -- chi-square of homogeneity on the 2 x k table, no continuity correction
  sum(power(a - (a + b) * na / (na + nb), 2) / ((a + b) * na / (na + nb))
    + power(b - (a + b) * nb / (na + nb), 2) / ((a + b) * nb / (na + nb))) AS chi2,
  count(*) - 1 AS dof
FROM s
"""


def drift_sql(live: str, reference: str, bins: int = 10) -> dict[str, Any]:
    """PSI per feature and the predicted labels' chi-square, from the two files."""
    import duckdb

    con = duckdb.connect(config={"memory_limit": "2GB"})
    psi = dict(con.execute(PSI, {"live": live, "reference": reference, "bins": bins}).fetchall())
    chi2, dof = con.execute(LABELS_CHI2, {"live": live, "reference": reference}).fetchone()  # type: ignore[misc]
    return {"psi": psi, "labels_chi2": chi2, "labels_dof": dof}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("live")
    parser.add_argument("reference")
    parser.add_argument("--bins", type=int, default=10)
    parser.add_argument("--tandem", help="`tandem drift --json` output to compare with")
    args = parser.parse_args(argv)
    found = drift_sql(args.live, args.reference, args.bins)
    tandem: dict[str, float] = {}
    labels: float | None = None
    if args.tandem:
        with open(args.tandem) as f:
            report = json.load(f)
        tandem = {f["name"]: f["psi"] for f in report["features"]}
        labels = (report.get("predictions") or {}).get("chi2_statistic")
    worst = 0.0
    print(f"{'feature':<12}{'PSI (DuckDB)':>16}{'PSI (Tandem)':>16}")
    for name, psi in found["psi"].items():
        mine = tandem.get(name)
        if mine is not None:
            worst = max(worst, abs(psi - mine))
        print(f"{name:<12}{psi:>16.10f}{'' if mine is None else f'{mine:>16.10f}'}")
    print(
        f"predicted labels: chi-square {found['labels_chi2']:.10f} ({found['labels_dof']} dof)"
        + ("" if labels is None else f", Tandem {labels:.10f}")
    )
    if labels is not None:
        worst = max(worst, abs(found["labels_chi2"] - labels))
    if args.tandem:
        print(f"largest difference from Tandem: {worst:.2e}")
        if worst > 1e-9:
            print("DISAGREEMENT with Tandem's numbers", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
