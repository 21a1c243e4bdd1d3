"""``python -m flows ARGS`` is ``tsalign ARGS`` (e.g. ``python -m flows run``).

The entry point lives here rather than in ``flows/pipeline.py`` so that the pipeline never
imports the CLI: the CLI imports the flows, never the other way round.
"""

from flows.cli import app

if __name__ == "__main__":
    app(prog_name="tsalign")
