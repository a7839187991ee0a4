"""The `tandem` command.

Its modules import at the top only what registering the commands needs (Typer, Rich,
small Tandem modules); each command imports the stacks it uses (the store, scikit-learn,
scipy, matplotlib, uvicorn) in its body, so `tandem --help` loads none of them and
`tandem keys list` or `tandem models` only the store (tests/cli/test_startup.py)."""
