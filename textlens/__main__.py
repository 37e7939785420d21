"""``python -m textlens`` runs the command-line interface."""

from textlens.cli.app import main

main()
