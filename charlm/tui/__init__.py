"""The `charlm` command: the Textual app, and `--once` for pipes and scripts."""
