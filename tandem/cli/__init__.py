"""The `tandem` command.

Its modules import at the top only what registering the commands needs (Typer, Rich,
small Tandem modules); each command imports the stacks it uses (the store, scikit-learn,
scipy, matplotlib, uvicorn) in its body, so `tandem --help`, `tandem keys list` and
`tandem models` start in a fraction of a second (tests/cli/test_startup.py)."""
