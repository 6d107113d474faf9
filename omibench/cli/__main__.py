"""``python -m omibench.cli``: the ``omibench`` command."""

from omibench.cli import main

main()
