#!/usr/bin/env bash
# Mutation testing of the modules that hold the product's rules, with mutmut (config:
# [tool.mutmut] in pyproject.toml). Each group names the functions that decide the rule;
# each mutant runs only the selected unit tests that reach it. Prints the kill rate per
# group and lists the survivors; docs/testing.md keeps the figures.
#   bash scripts/mutation.sh            every group
#   bash scripts/mutation.sh drift      one group (routing holdout retrain versions drift
#                                       claims labels)
# Works in ./mutants (git-ignored), removed first so no result is reused from a run
# against other tests. SQLite only; one mutant at a time unless MUTATION_CHILDREN says.
set -euo pipefail
cd "$(dirname "$0")/.."
export TANDEM_DATA_DIR=${TANDEM_DATA_DIR:-$(pwd)/../shared/data}
unset PYTHONPATH TANDEM_TEST_DATABASE_URL
py=${PYTHON:-.venv/bin/python}
mutmut=$(dirname "$py")/mutmut

declare -A RULES=(
  [routing]="tandem.review.routing.*"
  [holdout]="tandem.predict.service.x_in_holdout*"
  [retrain]="tandem.registry.retrain.*"
  [versions]="tandem.registry.versions.*"
  [drift]="tandem.monitor.drift.x__psi_check* tandem.monitor.drift.x__pvalue_check* tandem.monitor.drift.x__feature* tandem.monitor.results.xǁDriftReportǁof* tandem.monitor.model_drift.x_drift_for*"
  [claims]="tandem.review.claims.* tandem.store.sql_review.x__free* tandem.store.sql_review.x__held_by* tandem.store.sql_review.x__claimable* tandem.store.sql_review.xǁReviewSqlǁclaim_reviews* tandem.store.sql_review.xǁReviewSqlǁrelease_review* tandem.store.sql_review.xǁReviewSqlǁlist_free_reviews* tandem.store.sql_review.xǁReviewSqlǁdecide_review*"
  [labels]="tandem.store.sql_review.xǁReviewSqlǁlabelled_predictions*"
)
ORDER=(routing holdout retrain versions drift claims labels)
chosen=("${@:-${ORDER[@]}}")

rm -rf mutants && mkdir mutants
patterns=()
for group in "${chosen[@]}"; do
  [ -n "${RULES[$group]:-}" ] || { echo "unknown group: $group (one of: ${ORDER[*]})" >&2; exit 2; }
  read -ra names <<<"${RULES[$group]}"
  patterns+=("${names[@]}")
done
"$mutmut" run --max-children "${MUTATION_CHILDREN:-1}" "${patterns[@]}" >mutants/run.log 2>&1 \
  || { tail -40 mutants/run.log >&2; exit 1; }

# The groups go in as an argument: the script itself is the interpreter's stdin.
groups=$(for group in "${chosen[@]}"; do printf '%s\t%s\n' "$group" "${RULES[$group]}"; done)
"$py" - "$groups" <<'PY'
import fnmatch, json, pathlib, sys

KILLED = {1, 3}
results = {}
for meta in pathlib.Path("mutants").rglob("*.meta"):
    results.update(json.loads(meta.read_text())["exit_code_by_key"])
print(f"{'group':<10} {'mutants':>7} {'killed':>6} {'survived':>8} {'other':>5} {'kill rate':>9}")
survivors = []
for line in sys.argv[1].splitlines():
    group, patterns = line.split("\t")
    keys = [k for k in results if any(fnmatch.fnmatch(k, p) for p in patterns.split())]
    killed = [k for k in keys if results[k] in KILLED]
    survived = sorted(k for k in keys if results[k] == 0)
    other = len(keys) - len(killed) - len(survived)
    rate = f"{100 * len(killed) / len(keys):.1f} %" if keys else "-"
    print(f"{group:<10} {len(keys):>7} {len(killed):>6} {len(survived):>8} {other:>5} {rate:>9}")
    survivors += survived
if survivors:
    print("\nsurvivors (mutmut show NAME):")
    print("\n".join(f"  {k}" for k in survivors))
PY
