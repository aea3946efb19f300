"""A reference for ``benchmarks.state_cost``: N uvicorn workers of mockllm, each with its own
``state: memory`` (NOT one server: every worker counts, journals and stores for itself).

What ``--workers N`` costs whatever the state (N event loops taking turns at the accept, each
less busy than one would be, and uvicorn's supervisor), so that the figure for the shared
state itself can be told apart from it:

    python -m benchmarks.unshared_workers --port 8000 --workers 2 --config FILE
"""

from __future__ import annotations

import argparse
import json
import os


def main() -> None:
    import uvicorn

    from mockllm.assembly import StartupOptions
    from mockllm.cli import OPTIONS_ENV

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--config", required=True)
    args = ap.parse_args()
    # The same factory serve --workers uses; with no state in the options each worker opens
    # the config's (memory) state by itself.
    options = StartupOptions(config_path=args.config, autoload=False)
    os.environ[OPTIONS_ENV] = json.dumps(options.__dict__)
    uvicorn.run("mockllm.cli:worker_app", factory=True, workers=args.workers,
                host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":  # the workers are spawned: they re-import this module
    main()
