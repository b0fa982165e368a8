"""``python -m safetwin.live_bridge.ingestlog``: the child process of :class:`.IndexerProcess`."""
from .indexer_process import main

if __name__ == "__main__":
    raise SystemExit(main())
