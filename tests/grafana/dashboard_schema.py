"""Turn a dashboard JSON into TypeScript typed with Grafana's published schema (@grafana/schema).

Each panel is its own constant typed with its plugin's `Options` and `FieldConfig`, each target
with its datasource's query type, and the dashboard with `Dashboard`; `tsc --noEmit --strict`
then rejects every key the schema does not know and every value of the wrong type (object
literals get TypeScript's excess-property check).

Where the schema lags what Grafana itself saves, the type used instead says why (SCHEMA_GAPS).
"""
from __future__ import annotations

import json

RAW = "@grafana/schema/dist/esm/raw/composable"
# Panel plugins the schema publishes types for: type -> module folder and file stem.
PANEL_TYPES = {
    "timeseries": "timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen",
    "gauge": "gauge/panelcfg/x/GaugePanelCfg_types.gen",
    "stat": "stat/panelcfg/x/StatPanelCfg_types.gen",
    "bargauge": "bargauge/panelcfg/x/BarGaugePanelCfg_types.gen",
    "table": "table/panelcfg/x/TablePanelCfg_types.gen",
    "logs": "logs/panelcfg/x/LogsPanelCfg_types.gen",
}
# Panels whose field config has no `custom` block in the schema (no FieldConfig export).
NO_CUSTOM = {"gauge", "stat", "bargauge", "logs"}

PRELUDE = """\
import type {
  AnnotationQuery, Dashboard, DataQuery, DataSourceRef, FieldConfigSource, Panel,
} from "@grafana/schema";
import type { LokiDataQuery } from "@RAW@/loki/dataquery/x/LokiDataQuery_types.gen";
@IMPORTS@

// JSON has no enums: an enum-typed option is stored as its string value ("line", not
// GraphDrawStyle.Line). Plain<T> is T with every string enum replaced by its values, so the
// check stays exact (a value outside the enum still fails) while accepting JSON's spelling.
type Plain<T> = T extends string ? `${T}` : T extends number | boolean | null | undefined ? T
  : T extends Array<infer U> ? Array<Plain<U>> : T extends object ? { [K in keyof T]: Plain<T[K]> }
  : T;

// SCHEMA GAP: @grafana/schema 11 has no Prometheus query type (the Prometheus plugin is not
// part of its composable kinds). These are the fields Grafana's Prometheus code editor saves
// (public/app/plugins/datasource/prometheus/types.ts, PromQuery).
interface PromQuery extends DataQuery {
  expr: string;
  editorMode?: "code" | "builder";
  legendFormat?: string;
  range?: boolean;
  instant?: boolean;
  format?: "time_series" | "table" | "heatmap";
  interval?: string;
}
type Target = Plain<Omit<PromQuery, "datasource">> & { datasource: DataSourceRef }
  | Plain<Omit<LokiDataQuery, "datasource">> & { datasource: DataSourceRef };

// SCHEMA GAP: the schema types Panel.links as DashboardLink (with asDropdown, tags, type, ...),
// but a panel's links are data links (grafana-data DataLink: title, url, targetBlank), which is
// what Grafana's panel editor saves and reads there.
interface PanelDataLink { title: string; url: string; targetBlank?: boolean }

type Typed<O, F> = Omit<Panel, "options" | "fieldConfig" | "targets" | "links"> & {
  options: Plain<O>;
  fieldConfig: Plain<FieldConfigSource<F>>;
  targets?: Target[];
  links?: PanelDataLink[];
};

// SCHEMA GAP: the alert list panel (alertlist) has no published options type in
// @grafana/schema 11; its options are checked as the generic Record<string, unknown>, and
// tests/grafana/test_dashboards_json.py checks the fields Grafana reads.
// SCHEMA GAP: AnnotationQuery has no fields of the Prometheus annotation editor; Grafana
// reads these at the annotation's top level (public/app/plugins/datasource/prometheus,
// PrometheusAnnotationSupport).
interface PromAnnotationFields {
  expr?: string;
  step?: string;
  titleFormat?: string;
  textFormat?: string;
  tagKeys?: string;
  useValueForTime?: boolean;
}
type Annotation = Plain<AnnotationQuery> & PromAnnotationFields;

type Untyped = Omit<Panel, "links" | "targets"> & { links?: PanelDataLink[]; targets?: Target[] };
"""


def module_name(panel_type: str) -> str:
    """The TypeScript namespace a panel type's schema is imported as."""
    return f"{panel_type}Cfg"


def to_typescript(dashboard: dict) -> str:
    """The TypeScript source that type-checks `dashboard`."""
    used = sorted({p["type"] for p in dashboard["panels"]} & set(PANEL_TYPES))
    imports = "\n".join(f'import type * as {module_name(t)} from "{RAW}/{PANEL_TYPES[t]}";'
                        for t in used)
    lines = [PRELUDE.replace("@RAW@", RAW).replace("@IMPORTS@", imports)]
    names = []
    for index, panel in enumerate(dashboard["panels"]):
        name = f"panel{index}"
        names.append(name)
        kind = panel["type"]
        if kind in PANEL_TYPES:
            custom = "{}" if kind in NO_CUSTOM else f"{module_name(kind)}.FieldConfig"
            annotation = f"Typed<{module_name(kind)}.Options, {custom}>"
        else:
            annotation = "Untyped"
        lines.append(f"// {panel['title']}\nconst {name}: {annotation} = "
                     f"{json.dumps(panel, indent=2)};\n")
    body = dict(dashboard, panels="__PANELS__")
    text = json.dumps(body, indent=2).replace('"__PANELS__"', "[" + ", ".join(names) + "]")
    # The panels were each checked against their own plugin's types above.
    lines.append("export const dashboard: Omit<Plain<Dashboard>, \"panels\" | \"annotations\"> & "
                 "{ panels: Array<Typed<unknown, unknown> | Untyped>; "
                 f"annotations: {{ list: Annotation[] }} }} = {text};\n")
    return "\n".join(lines)
