"""`python -m charlm` is `charlm`."""

from charlm.tui.cli import main

if __name__ == "__main__":
    main()
