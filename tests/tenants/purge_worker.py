"""A purge in a process of its own, for the kill tests: ``python -m tests.tenants.purge_worker DATA_DIR
[DATABASE_URL KEYS_URL]``. Prints ``ready`` just before purging and ``done <seconds>`` after."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from charter.clock import FrozenClock
from charter.policy import load_charter
from charter.runtime import open_runtime

ROOT = Path(__file__).resolve().parents[2]
LATER = datetime(2027, 6, 1, tzinfo=UTC)  # every tenant uninstalled in the tests is due by then


def main() -> None:
    data_dir = Path(sys.argv[1])
    database_url = sys.argv[2] if len(sys.argv) > 2 else None
    keys_url = sys.argv[3] if len(sys.argv) > 3 else None
    charter = load_charter(
        ROOT / "examples" / "forge-remote.toml", clock=FrozenClock(datetime(2026, 11, 29, tzinfo=UTC))
    )
    with open_runtime(
        charter, data_dir=data_dir, clock=FrozenClock(LATER), database_url=database_url, keys_database_url=keys_url
    ) as runtime:
        print("ready", flush=True)
        started = time.monotonic()
        runtime.purger.run(actor="kill-test")
        print(f"done {time.monotonic() - started:.3f}", flush=True)


if __name__ == "__main__":
    main()
