"""`python -m rtap.cli`: the same as the `rtap` command."""

from rtap.cli import app

app()
