"""`python -m charlm` is `charlm`."""

from charlm.entry import charlm

if __name__ == "__main__":
    charlm()
