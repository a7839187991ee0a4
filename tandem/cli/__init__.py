"""The `tandem` command.

Its modules import at the top only what registering the commands needs (Typer, Rich,
small Tandem modules); each command imports the stacks it uses (the store, scikit-learn,
scipy, matplotlib, uvicorn) in its body, so `tandem --help` loads none of them and
`tandem keys` or `tandem models` only SQLAlchemy and their own part of the store
(tests/cli/test_startup.py). Modules that define commands do without `from __future__
import annotations`: Typer reads every command's annotations at each start, and would
compile each one from its string."""
