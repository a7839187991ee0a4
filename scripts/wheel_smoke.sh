#!/usr/bin/env bash
# The core as people install it: build its wheel (from the sdist), install that into a
# fresh virtual environment outside the source tree (dependencies from the package index),
# and, from another folder, serve an empty store, add a scikit-learn model, create keys,
# predict, and decide the prediction's review. Any failure exits non-zero and says which
# step failed. Set PYTHON to choose the interpreter of the fresh environment.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
PYTHON=${PYTHON:-python3}
builder=$(pwd)/.venv/bin/python
[ -x "$builder" ] || builder=$PYTHON
# uv (one of the test tools) builds and installs in seconds from its cache; without it,
# the standard tools do the same, slower.
uv=$(pwd)/.venv/bin/uv
export UV_PYTHON_DOWNLOADS=never # the fresh environment uses $PYTHON, never a download
[ -x "$uv" ] || uv=""

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
http() { curl -s -m 30 "$@" || true; } # prints the status code 000 when it cannot connect
step() { echo "wheel smoke: [$((SECONDS - started)) s] $*"; }
fail() {
  echo "wheel smoke FAILED: $*" >&2
  if [ -s "$work/serve.log" ]; then
    echo "--- tandem serve's output:" >&2
    tail -n 30 "$work/serve.log" >&2
  fi
  exit 1
}

# Nothing of the checkout may leak in: no path to its sources, no setting of its own.
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV
while read -r name; do unset "$name"; done < <(compgen -e | grep '^TANDEM_' || true)

step "building the core's sdist and wheel"
# From a copy of the files git knows, so the build leaves nothing in the checkout.
mkdir "$work/src"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$work/src"
if [ -n "$uv" ]; then
  (cd "$work/src" && "$uv" build --quiet --out-dir "$work/dist" >"$work/build.log" 2>&1) ||
    { tail -n 30 "$work/build.log" >&2; fail "uv build could not build the core"; }
elif "$builder" -c 'import build' 2>/dev/null; then
  (cd "$work/src" && "$builder" -m build --outdir "$work/dist" >"$work/build.log" 2>&1) ||
    { tail -n 30 "$work/build.log" >&2; fail "python -m build could not build the core"; }
else
  (cd "$work/src" && "$builder" -m pip wheel --no-deps -w "$work/dist" . >"$work/build.log" 2>&1) ||
    { tail -n 30 "$work/build.log" >&2; fail "pip wheel could not build the core"; }
fi
wheel=$(ls "$work"/dist/tandem-*.whl 2>/dev/null | head -n 1)
[ -n "$wheel" ] || fail "no tandem wheel was built"

step "installing $(basename "$wheel") into a fresh virtual environment"
py=$work/venv/bin/python
tandem=$work/venv/bin/tandem
if [ -n "$uv" ]; then
  { "$uv" venv --quiet --python "$PYTHON" "$work/venv" &&
    "$uv" pip install --quiet --python "$py" "$wheel"; } >"$work/pip.log" 2>&1 ||
    { tail -n 30 "$work/pip.log" >&2; fail "uv could not install the wheel and its dependencies"; }
else
  "$PYTHON" -m venv "$work/venv" || fail "could not create a virtual environment with $PYTHON"
  "$py" -m pip install --quiet "$wheel" >"$work/pip.log" 2>&1 ||
    { tail -n 30 "$work/pip.log" >&2; fail "pip could not install the wheel and its dependencies"; }
fi
[ -x "$tandem" ] || fail "the wheel installed no 'tandem' console script"

mkdir "$work/run"
cd "$work/run"
"$py" -c 'import tandem_examples' 2>/dev/null && fail "the core wheel ships the examples"
"$py" - <<'EOF' || fail "the installed core is not the wheel's, or lacks its templates"
import sys
from pathlib import Path

import tandem

where = Path(tandem.__file__).resolve()
assert str(where).startswith(sys.prefix), f"tandem imported from {where}, not the venv"
assert (where.parent / "pages" / "templates" / "base.html").is_file(), "templates missing"
assert (where.parent / "store" / "migrations" / "script.py.mako").is_file(), "mako missing"
EOF

export TANDEM_HOME=$work/home
export TANDEM_REVIEW_THRESHOLD=1.0 # every prediction goes to review
export TANDEM_LATENCY_BUDGET_MS=5000 # this checks the install, not speed on a busy machine
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port

step "serving an empty store on port $port"
"$tandem" serve --port "$port" >"$work/serve.log" 2>&1 &
server=$!
code=000
for _ in $(seq 1 120); do
  kill -0 "$server" 2>/dev/null || fail "tandem serve exited on an empty store"
  code=$(http -o "$work/health.json" -w '%{http_code}' "$url/healthz")
  [ "$code" != 000 ] && break
  sleep 0.5
done
[ "$code" = 503 ] || fail "/healthz on an empty store answered $code, expected 503"
grep -q '"no model loaded"' "$work/health.json" || fail "/healthz: $(cat "$work/health.json")"
code=$(http -o "$work/home.html" -w '%{http_code}' "$url/")
[ "$code" = 200 ] && grep -q "No model is served yet" "$work/home.html" ||
  fail "the home page of an empty store does not say how to add a model (HTTP $code)"

step "training a scikit-learn model on the bundled wine data and adding it"
"$py" - <<'EOF' || fail "could not train the wine model in the fresh environment"
import csv
import json

import joblib
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

wine = load_wine()
names = [n.replace("/", "_") for n in wine.feature_names]
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
model.fit(wine.data, wine.target_names[wine.target])
joblib.dump(model, "wine.joblib")
with open("schema.json", "w") as f:
    json.dump({"features": {n: "number" for n in names}}, f)
with open("rows.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(names)
    w.writerows(wine.data.tolist())
with open("input.json", "w") as f:
    json.dump({"model": "wine", "input": dict(zip(names, wine.data[60].tolist()))}, f)
EOF
"$tandem" models add wine --sklearn wine.joblib --schema schema.json --reference rows.csv \
  2>"$work/add.log" || { cat "$work/add.log" >&2; fail "tandem models add refused the model"; }

step "creating keys, predicting, deciding the review"
client=$("$tandem" keys create --role client --name smoke-app | tail -n 1) ||
  fail "tandem keys create --role client failed"
reviewer=$("$tandem" keys create --role reviewer --name smoke-reviewer | tail -n 1) ||
  fail "tandem keys create --role reviewer failed"
code=$(http -o prediction.json -w '%{http_code}' -X POST "$url/v1/predict" \
  -H "Authorization: Bearer $client" -H 'content-type: application/json' -d @input.json)
[ "$code" = 200 ] || fail "POST /v1/predict answered $code: $(cat prediction.json)"
review=$("$py" -c '
import json, sys
p = json.load(open("prediction.json"))
assert p["model"] == "wine" and p["route"] == "review" and p["review_id"], p
print(p["review_id"])
') || fail "the prediction did not go to review: $(cat prediction.json)"
code=$(http -o decision.json -w '%{http_code}' -X POST "$url/v1/reviews/$review/decision" \
  -H "Authorization: Bearer $reviewer" -H 'content-type: application/json' \
  -d '{"label": "class_1", "comment": "checked by the wheel smoke test"}')
[ "$code" = 200 ] || fail "deciding review $review answered $code: $(cat decision.json)"
"$py" -c '
import json
d = json.load(open("decision.json"))
assert (d["status"], d["label"], d["reviewer"]) == ("decided", "class_1", "smoke-reviewer"), d
' || fail "the decision was not recorded: $(cat decision.json)"
code=$(http -o "$work/health.json" -w '%{http_code}' "$url/healthz")
[ "$code" = 200 ] && grep -q '"wine"' "$work/health.json" ||
  fail "/healthz does not report the wine model (HTTP $code): $(cat "$work/health.json")"
code=$(http -o review.html -w '%{http_code}' -H "Authorization: Bearer $reviewer" "$url/review")
[ "$code" = 200 ] || fail "the review page answered $code"

echo "wheel smoke: passed in $((SECONDS - started)) s"
