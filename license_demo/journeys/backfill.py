"""Turn generated history into Prometheus TSDB blocks with promtool and place them in a data dir."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from license_demo.clients import DemoError, PrometheusClient
from rule_source.durations import duration_seconds


def create_blocks(openmetrics: str, data_dir: Path, promtool: str = "promtool") -> list[str]:
    """Write `openmetrics` into blocks and move them into `data_dir`; return the block ids."""
    if shutil.which(promtool) is None:
        raise DemoError(f"{promtool} not found: install the prometheus package (it ships promtool)")
    data_dir.mkdir(parents=True, exist_ok=True)
    # Build next to the data dir so the final move is a rename Prometheus never sees half-done.
    with tempfile.TemporaryDirectory(prefix=".backfill-", dir=data_dir.parent) as tmp:
        source = Path(tmp) / "history.om.txt"
        source.write_text(openmetrics)
        out = Path(tmp) / "blocks"
        # Long blocks: with the default 2h promtool reads the whole file once per block.
        done = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics",
                               "--max-block-duration=768h", str(source), str(out)], capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise DemoError(f"promtool could not create blocks: {(done.stderr or done.stdout)[-1500:]}")
        blocks = sorted(p.name for p in out.iterdir() if p.is_dir())
        for block in blocks:
            (out / block).rename(data_dir / block)
    return blocks


def check_retention(prometheus: PrometheusClient, days: int) -> None:
    """Fail with instructions when Prometheus would delete backfilled data older than `days`."""
    flags = prometheus.flags()
    retention = flags.get("storage.tsdb.retention.time", "0s")
    seconds = duration_seconds(retention, default=0.0)
    # 0 means "default", which is 15 days unless a size limit alone is set.
    if (seconds or 15 * 86400) < (days + 1) * 86400:
        raise DemoError(f"Prometheus keeps only {retention if seconds else '15d'} of data, so it would "
                        f"delete a backfilled month at once: restart it with "
                        f"--storage.tsdb.retention.time={days + 5}d")


def wait_visible(prometheus: PrometheusClient, expr: str, at: float, timeout: float = 120.0,
                 progress=None) -> float:
    """Poll until `expr` has a value at time `at`; a running Prometheus loads new blocks each minute."""
    deadline = time.monotonic() + timeout
    next_note = time.monotonic() + 15
    while time.monotonic() < deadline:
        result = prometheus.query(expr, at)
        if result:
            return float(result[0]["value"][1])
        if progress and time.monotonic() >= next_note:
            progress("  ... Prometheus has not loaded the new blocks yet (it checks once a minute)")
            next_note += 15
        time.sleep(2)
    raise DemoError(f"the backfilled data did not show up in Prometheus within {timeout:.0f}s: "
                    "check that the blocks went into the data dir of the Prometheus you query and "
                    "that its retention (--storage.tsdb.retention.time) covers 30 days")
