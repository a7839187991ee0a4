"""How long the `tandem` command takes to start, next to `python -c "import typer"`.

Runs each command as a whole process --runs times, round robin, against a fresh
TANDEM_HOME whose SQLite store is created (and migrated) beforehand, after one untimed
run of each that writes the bytecode caches (to a temporary PYTHONPYCACHEPREFIX, as an
installed package has them). Prints the median, min and max wall time of each and the
ratio of its median to that of `import typer` measured in the same run (on a shared
machine the ratios, not the seconds, compare across runs), and the same for CPU time
(user + system), which other processes' load sways less. It also times `import typer,
sqlalchemy`: what any command that reads the store must load.

Exit status: 0 when every run of every command succeeded, 1 otherwise.

Run: .venv/bin/python benchmarks/cli.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def tandem_command() -> list[str]:
    """The installed console script beside this interpreter, else the same entry point."""
    script = Path(sys.executable).with_name("tandem")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from tandem.cli.main import run; run()"]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) time of one run; a failing run raises with its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return took, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="Runs of each command.")
    args = parser.parse_args()
    tandem = tandem_command()
    with tempfile.TemporaryDirectory() as home:
        skip = ("TANDEM_", "PYTHONDONTWRITEBYTECODE")
        env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
        env["TANDEM_HOME"] = str(Path(home) / "home")
        env["PYTHONPYCACHEPREFIX"] = str(Path(home) / "pycache")
        commands = {
            'python -c "import typer"': [sys.executable, "-c", "import typer"],
            # What a command that reads the store cannot start without: SQLAlchemy
            # (`keys list` and `models` read the store's URL without the settings stack).
            'python -c "import typer, sqlalchemy"': [
                sys.executable,
                "-c",
                "import typer, sqlalchemy",
            ],
            "tandem --help": [*tandem, "--help"],
            "tandem keys list": [*tandem, "keys", "list"],
            "tandem models": [*tandem, "models"],
        }
        try:
            timed([*tandem, "db", "upgrade"], env)  # an empty store at the head revision
            for argv in commands.values():
                timed(argv, env)  # writes the bytecode caches
            times: dict[str, list[float]] = {name: [] for name in commands}
            cpus: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(args.runs):  # round robin: a busy spell slows every command alike
                for name, argv in commands.items():
                    took, cpu = timed(argv, env)
                    times[name].append(took)
                    cpus[name].append(cpu)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    base = statistics.median(times['python -c "import typer"'])
    cpu_base = statistics.median(cpus['python -c "import typer"'])
    print(f"{args.runs} runs each, seconds (CPU: user + system, less swayed by other load)\n")
    print("| command | median | min | max | median / import typer | CPU | CPU / import typer |")
    print("|---|---|---|---|---|---|---|")
    for name, took in times.items():
        median, cpu = statistics.median(took), statistics.median(cpus[name])
        spread = f"{median:.3f} | {min(took):.3f} | {max(took):.3f}"
        print(f"| `{name}` | {spread} | {median / base:.1f}× | {cpu:.3f} | {cpu / cpu_base:.1f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
