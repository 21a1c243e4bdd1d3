"""``python -m tsalign ARGS`` is ``tsalign ARGS`` (e.g. ``python -m tsalign run``)."""

from tsalign.flows.cli import entry

if __name__ == "__main__":
    entry()
