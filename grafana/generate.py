"""Write the Grafana JSON of every grafana/dashboards/*.dashboard.py into the provisioning folder.

    python -m grafana.generate           # regenerate (make dashboards)
    python -m grafana.generate --check   # exit 1 when a committed JSON is out of date
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DASHBOARDS = HERE / "dashboards"
OUT = HERE / "provisioning" / "dashboards" / "json"
SUFFIX = ".dashboard.py"


def load_dashboards(folder: Path = DASHBOARDS) -> dict[str, dict]:
    """Return {file name: dashboard JSON} for every *.dashboard.py in `folder`."""
    from grafanalib._gen import loader

    from grafana.dashboards import panels
    result = {}
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        data = panels.to_json(loader(str(path)))
        result[f"{data['uid']}.json"] = data
    return result


def render(data: dict) -> str:
    """The committed text of one dashboard: sorted keys, two-space indent, final newline."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Generate (or with --check compare) the provisioned dashboard JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare instead of writing; exit 1 if anything differs")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    args = parser.parse_args(argv)
    dashboards = load_dashboards()
    stale = []
    for name, data in dashboards.items():
        path = args.out / name
        text = render(data)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path)
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path} ({len(data['panels'])} panels)")
    orphans = [p for p in args.out.glob("*.json") if p.name not in dashboards]
    for path in stale + orphans:
        print(f"out of date: {path} (run `make dashboards`)" if path in stale
              else f"no dashboard source for {path}: delete it or add its .dashboard.py")
    return 1 if stale or orphans else 0


if __name__ == "__main__":
    sys.exit(main())
