"""The Markdown report and PNG plots of one benchmark run, every figure also as a ratio to the best contender."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # the backend must be chosen before pyplot loads

ANALYSIS = Path(__file__).resolve().parent / "analysis.md"
# Where our server's start-up and per-call time go, from the profiles behind the performance work.
PROFILE = Path(__file__).resolve().parent / "profile.md"
OURS = "k3s-mcp"
RAW_API = "raw-api"
HTTP = "k3s-mcp-http"
# The per-call overhead target: a call's p50 minus the raw API request's p50.
OVERHEAD_TARGET_MS = 3.0
# One colour per contender across every plot.
COLOURS = {
    OURS: "#1f77b4",
    "k3s-mcp-core": "#17becf",
    "k3s-mcp-http": "#aec7e8",
    "raw-api": "#7f7f7f",
    "kubernetes-mcp-server": "#d62728",
    "mcp-server-kubernetes": "#9467bd",
    "kubectl-mcp-server": "#2ca02c",
    "kubectl": "#ff7f0e",
}

Getter = Callable[[dict[str, Any]], float | None]


def _ok(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in document["peers"] if p["status"] == "ok"]


def ratios(values: dict[str, float | None], *, higher_is_better: bool = False) -> dict[str, float | None]:
    """Each value as a multiple of the best one: 1.0 is the best, 2.0 twice as slow, large or few."""
    present = {k: v for k, v in values.items() if v is not None and v > 0}
    if not present:
        return {k: None for k in values}
    best = max(present.values()) if higher_is_better else min(present.values())
    out: dict[str, float | None] = {}
    for key, value in values.items():
        if value is None or value <= 0:
            out[key] = None
        else:
            out[key] = best / value if higher_is_better else value / best
    return out


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def _cell(value: float | None, ratio: float | None, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "–"
    shown = f"{_fmt(value, digits)}{unit}"
    if ratio is None:
        return shown
    return f"**{shown}** (1.0×)" if abs(ratio - 1.0) < 1e-9 else f"{shown} ({ratio:.1f}×)"


def _metric(peers: list[dict[str, Any]], get: Getter) -> dict[str, float | None]:
    return {p["key"]: get(p) for p in peers}


def _op(name: str, field: str) -> Getter:
    def get(peer: dict[str, Any]) -> float | None:
        op = peer["operations"].get(name)
        value = op.get(field) if op else None
        return float(value) if value is not None else None

    return get


def _calls_per_s(level: str) -> Getter:
    def get(peer: dict[str, Any]) -> float | None:
        value = (peer["throughput"].get(level) or {}).get("calls_per_s")
        return float(value) if value is not None else None

    return get


def _bar_plot(
    path: Path, title: str, unit: str, series: dict[str, dict[str, float | None]], *, higher_is_better: bool = False
) -> None:
    """Grouped bars (one group per series entry), each bar labelled with its ratio to the group's best."""
    groups = list(series)
    keys = [k for k in COLOURS if any(values.get(k) is not None for values in series.values())]
    fig, ax = plt.subplots(figsize=(min(12.0, max(6.0, 1.8 * len(groups))), 4.5))
    width = 0.8 / max(1, len(keys))
    for index, key in enumerate(keys):
        xs, heights, labels = [], [], []
        for g, group in enumerate(groups):
            value = series[group].get(key)
            if value is None:
                continue
            ratio = ratios(series[group], higher_is_better=higher_is_better)[key]
            xs.append(g + (index - (len(keys) - 1) / 2) * width)
            heights.append(value)
            labels.append(f"{ratio:.1f}×" if ratio is not None else "")
        bars = ax.bar(xs, heights, width, label=key, color=COLOURS[key])
        for bar, label in zip(bars, labels, strict=True):
            ax.annotate(
                label, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom", fontsize=7
            )
    ax.set_xticks(range(len(groups)), groups, fontsize=8, rotation=10)
    ax.set_ylabel(unit)
    values = [v for s in series.values() for v in s.values() if v]
    if values and max(values) / max(min(values), 1e-9) > 50:
        ax.set_yscale("log")
    ax.set_title(f"{title}\n(labels: ratio to the best, 1.0× = best)", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(document: dict[str, Any], out: Path, *, plots: bool = True) -> Path:
    """Write ``<date>.md`` (and, with ``plots``, ``<date>-*.png``) into ``out``; return the Markdown path."""
    date = document["date"]
    peers = _ok(document)
    lines: list[str] = [
        f"# Benchmarks, {date}",
        "",
        f"Machine: {document['machine']['cpus']} CPUs, Python {document['machine']['python']}, "
        f"{document['machine']['system']}. Whole run: {document['duration_s']:.0f} s. "
        f"{'Quick mode (tiny workload). ' if document['quick'] else ''}"
        "Every MCP server is driven by the same `fastmcp.Client` over stdio (k3s-mcp-http: over streamable HTTP); "
        "kubectl runs as one process per call; the raw-API contender sends the API requests our tools send on one "
        "keep-alive connection, the floor under every contender. "
        "A figure in parentheses is the ratio to the best contender for that column (1.0× = best; "
        "for throughput, best ÷ value). "
        f"Cluster: a local kube-apiserver 1.37 with KWOK nodes; {document['workload'].get('pods_total_running')} "
        f"pods Running across all namespaces during the run, {document['workload'].get('pods_in_namespace')} "
        "in the namespaced-list namespace.",
        "",
        "## Contenders",
        "",
        "| contender | language | version | status | tools | tools/list tokens |",
        "|---|---|---|---|---:|---:|",
    ]
    for p in document["peers"]:
        status = p["status"] if p["status"] == "ok" else f"{p['status']}: {str(p['error'])[:160]}"
        lines.append(
            f"| {p['title']} | {p['language']} | {p['version']} | {status} | {_fmt(p['tools'], 0)} "
            f"| {_fmt(p['schema_tokens'], 0)} |"
        )
    lines += ["", f"Tokens are counted with {document['tokenizer']}.", ""]

    mcp = [p for p in peers if p["tools"] is not None]
    cold = _metric(mcp, lambda p: p["cold_start_ms_median"])
    schema = _metric(mcp, lambda p: p["schema_tokens"])
    rss = _metric(peers, lambda p: p["rss_after_mb"] or None)
    rss_peak = _metric(peers, lambda p: p["rss_peak_mb"])
    cold_r, schema_r, rss_r, peak_r = ratios(cold), ratios(schema), ratios(rss), ratios(rss_peak)
    lines += [
        "## Start-up, schema and memory",
        "",
        "Cold start is process start to the first `tools/list` answer (median of the starts after the first); "
        "first start is the first of them, with an empty user cache (our stdio server then has no handshake "
        "snapshot yet); first call is process start to the answer of a first `list_pods_namespace` call. RSS is the "
        "server's process tree after the run (kubectl: the peak of one process).",
        "",
        "| contender | cold start ms | first start ms | first call ms | tools/list tokens | RSS after run MB "
        "| RSS peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for p in peers:
        k = p["key"]
        lines.append(
            f"| {p['title']} | {_cell(cold.get(k), cold_r.get(k), digits=0)} "
            f"| {_fmt(p.get('first_start_ms'), 0)} | {_fmt(p.get('first_call_ms'), 0)} "
            f"| {_cell(schema.get(k), schema_r.get(k), digits=0)} "
            f"| {_cell(rss.get(k), rss_r.get(k))} | {_cell(rss_peak.get(k), peak_r.get(k))} |"
        )

    lines += ["", "## Latency per operation (ms, p50 / p99)", ""]
    ops = list(document["operations"])
    lines += ["| contender | " + " | ".join(ops) + " |", "|---|" + "---:|" * len(ops)]
    p50 = {op: _metric(peers, _op(op, "p50_ms")) for op in ops}
    p99 = {op: _metric(peers, _op(op, "p99_ms")) for op in ops}
    for p in peers:
        k = p["key"]
        cells = []
        for op in ops:
            r50, r99 = ratios(p50[op])[k], ratios(p99[op])[k]
            entry = p["operations"].get(op) or {}
            error = " ⚠" + str(entry.get("errors")) + " errors" if entry.get("errors") else ""
            cells.append(f"{_cell(p50[op][k], r50)} / {_cell(p99[op][k], r99)}{error}")
        lines.append(f"| {p['title']} | " + " | ".join(cells) + " |")
    calls = document["settings"]["calls_per_operation"]
    lines += ["", f"{calls} sequential calls per operation (p99 of so few samples is the slowest call).", ""]

    lines += ["## Throughput (calls/s on one session, `list_pods_namespace`)", ""]
    levels = [str(level) for level in document["settings"]["concurrency_levels"]]
    lines += [
        "| contender | " + " | ".join(f"{lv} concurrent" for lv in levels) + " |",
        "|---|" + "---:|" * len(levels),
    ]
    tput = {lv: _metric(peers, _calls_per_s(lv)) for lv in levels}
    for p in peers:
        k = p["key"]
        cells = []
        for lv in levels:
            entry = p["throughput"].get(lv) or {}
            error = f" ⚠{entry['errors']} errors" if entry.get("errors") else ""
            cells.append(_cell(tput[lv][k], ratios(tput[lv], higher_is_better=True)[k]) + error)
        lines.append(f"| {p['title']} | " + " | ".join(cells) + " |")

    lines += _overhead_lines(document, ops)
    lines += _http_lines(document)
    lines += _install_lines(document.get("installs") or {})

    lines += ["", "## Response size (bytes of text a model reads / tokens)", ""]
    lines += ["| contender | " + " | ".join(ops) + " |", "|---|" + "---:|" * len(ops)]
    size = {op: _metric(peers, _op(op, "text_bytes")) for op in ops}
    toks = {op: _metric(peers, _op(op, "tokens")) for op in ops}
    for p in peers:
        k = p["key"]
        cells = [
            f"{_cell(size[op][k], ratios(size[op])[k], digits=0)} / {_cell(toks[op][k], ratios(toks[op])[k], digits=0)}"
            for op in ops
        ]
        lines.append(f"| {p['title']} | " + " | ".join(cells) + " |")

    lines += ["", "## Operation mapping", "", "| contender | operation | call |", "|---|---|---|"]
    for p in peers:
        for op, entry in p["operations"].items():
            lines.append(f"| {p['title']} | {op} | `{entry['call']}` |")

    lines += _wake_lines(document.get("wake") or {})
    lines += _answer_lines(document.get("answers") or {})
    lines += ["", "## Cortex activator", ""]
    activator = document.get("activator") or {}
    if activator.get("status") == "ok":
        lines += _activator_lines(activator["results"])
    else:
        lines.append(_not_measured(activator))

    slower = _where_ours_trails(
        peers, {"cold start": cold, "tools/list tokens": schema, "RSS after run": rss}, p50, toks, tput
    )
    lines += ["", "## Where ours is not the best", ""]
    lines += [f"- {item}" for item in slower] or ["- Nowhere in this run."]
    for notes in (ANALYSIS, PROFILE):
        if notes.exists():
            lines += ["", notes.read_text().strip()]

    if plots and peers:
        lines += ["", "## Plots", ""]
        plot_specs = [
            ("latency-p50", "Latency p50 per operation", "ms", {op: p50[op] for op in ops}, False),
            ("throughput", "Throughput on one session", "calls/s", tput, True),
            ("response-tokens", "Response tokens", "tokens", {op: toks[op] for op in ops}, False),
            ("cold-start", "Cold start: process start to first tools/list answer", "ms", {"cold start": cold}, False),
            ("memory", "Resident memory of the server process tree", "MB", {"after run": rss, "peak": rss_peak}, False),
            ("schema-tokens", "tools/list size", "tokens", {"tools/list": schema}, False),
        ]
        for name, title, unit, series, higher in plot_specs:
            png = out / f"{date}-{name}.png"
            _bar_plot(png, title, unit, series, higher_is_better=higher)
            lines.append(f"![{title}]({png.name})")
    path = out / f"{date}.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _overhead_lines(document: dict[str, Any], ops: list[str]) -> list[str]:
    """Each MCP contender's p50 minus the raw API request's p50, per operation."""
    overhead: dict[str, dict[str, Any]] = document.get("overhead") or {}
    if not overhead:
        return ["", "## Per-call overhead", "", "Not measured: the raw-API contender did not run.", ""]
    titles = {p["key"]: p["title"] for p in document["peers"]}
    raw = next(p for p in document["peers"] if p["key"] == RAW_API)
    lines = [
        "",
        "## Per-call overhead (ms the server adds to the API requests, p50)",
        "",
        "The raw API requests are what our tool sends (first row, p50 ms). Each contender's timed call follows the "
        "same raw requests, sent and timed just before it on the harness's own keep-alive session: a cell is the "
        "median over the calls of the call's time minus its raw requests' time (p50 minus the raw p50 for a run "
        "without pairs, marked †). After one untimed warm-up call; the answer is sized after the clock stops. "
        f"Target for ours: <= {OVERHEAD_TARGET_MS:g} ms (✓ where met).",
        "",
        "| contender | " + " | ".join(ops) + " |",
        "|---|" + "---:|" * len(ops),
        f"| {raw['title']} (p50 ms) | "
        + " | ".join(_fmt((raw["operations"].get(op) or {}).get("p50_ms"), 2) for op in ops)
        + " |",
    ]
    for key, rows in overhead.items():
        cells = []
        for op in ops:
            row = rows.get(op)
            if row is None:
                cells.append("–")
                continue
            mark = " ✓" if key.startswith(OURS) and row["overhead_ms"] <= OVERHEAD_TARGET_MS else ""
            mark += " †" if row.get("method", "unpaired") == "unpaired" else ""
            cells.append(f"{row['overhead_ms']:+.1f}{mark}")
        lines.append(f"| {titles.get(key, key)} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _http_lines(document: dict[str, Any]) -> list[str]:
    """The HTTP contender's sessions at once beside one stdio session's sequential calls."""
    peers = {p["key"]: p for p in _ok(document)}
    http, stdio = peers.get(HTTP), peers.get(OURS)
    if http is None or not http.get("sessions"):
        return ["## Streamable HTTP", "", "Not measured: the HTTP contender did not run.", ""]
    sessions = http["sessions"]
    lines = [
        f"## Streamable HTTP: {sessions['sessions']} sessions at once vs one stdio session",
        "",
        f"Each session makes {sessions['calls'] // max(sessions['sessions'], 1)} sequential calls of "
        f"`{sessions['operation']}` after one untimed call; calls/s over the wall time of all sessions' calls.",
        "",
        "| transport | sessions | calls/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for title, entry in (("stdio", (stdio or {}).get("sequential")), ("streamable HTTP", http.get("sequential"))):
        if entry:
            lines.append(
                f"| {title} | 1 | {_fmt(entry.get('calls_per_s'))} | {_fmt(entry.get('p50_ms'))} "
                f"| {_fmt(entry.get('p99_ms'))} |"
            )
    error = f" ⚠{sessions['errors']} errors" if sessions.get("errors") else ""
    lines.append(
        f"| streamable HTTP | {sessions['sessions']} | {_fmt(sessions.get('calls_per_s'))}{error} "
        f"| {_fmt(sessions.get('p50_ms'))} | {_fmt(sessions.get('p99_ms'))} |"
    )
    one = ((stdio or {}).get("sequential") or {}).get("calls_per_s")
    if one and sessions.get("calls_per_s"):
        ratio = sessions["calls_per_s"] / one
        lines += ["", f"{sessions['sessions']} HTTP sessions make {ratio:.2f}× one stdio session's calls/s."]
    return [*lines, ""]


def _install_lines(installs: dict[str, Any]) -> list[str]:
    lines = ["## Install (fresh environment, `uv pip install` from the registry, empty cache)", ""]
    if installs.get("status") != "ok":
        return [*lines, f"Not measured: {installs.get('status', 'skipped')} {installs.get('error', '')}".strip(), ""]
    lines += ["| what | install s | environment MB | packages |", "|---|---:|---:|---:|"]
    for variant in ("server", "server+cortex"):
        entry = installs.get(variant) or {}
        if "error" in entry:
            lines.append(f"| {variant} | failed: {str(entry['error'])[:120]} | – | – |")
        else:
            lines.append(
                f"| {variant} | {_fmt(entry.get('install_s'))} | {_fmt(entry.get('venv_mb'))} "
                f"| {_fmt(entry.get('packages'), 0)} |"
            )
    return [*lines, ""]


def _not_measured(part: dict[str, Any]) -> str:
    """The line a report section shows when its part of the bench did not run: its status and error."""
    return f"Not measured: {part.get('status')}: {part.get('error', '')}"


def _wake_lines(wake: dict[str, Any]) -> list[str]:
    """bench/wake.py: seconds from the request to each stage, through KEDA and through the direct scale."""
    lines = ["", "## Scale from zero (wake time)", ""]
    if wake.get("status") != "ok":
        return [*lines, _not_measured(wake), ""]
    lines += [
        "Seconds from the request; median (min-max) over the rounds.",
        "",
        "| path | rounds | replica at 1 | replica ready | layer started | answered | answers |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]

    def stage(stats: dict[str, Any]) -> str:
        return f"{_fmt(stats.get('median'), 2)} ({_fmt(stats.get('min'), 2)}-{_fmt(stats.get('max'), 2)})"

    for path, data in (wake.get("results") or {}).items():
        if not isinstance(data, dict) or "to_answer_s" not in data:
            continue
        lines.append(
            f"| {path} | {data.get('rounds')} | {stage(data['to_replica_s'])} | {stage(data['to_ready_replica_s'])} "
            f"| {stage(data['to_layer_started_s'])} | {stage(data['to_answer_s'])} | {', '.join(data['answers'])} |"
        )
    return [*lines, ""]


def _answer_lines(answers: dict[str, Any]) -> list[str]:
    """bench/answers.py: tokens of the same answers from k3s-mcp and kubectl."""
    lines = ["", "## Answer sizes", ""]
    if answers.get("status") != "ok":
        return [*lines, _not_measured(answers), ""]
    lines += ["| answer | source | rows | chars | tokens | tokens/row |", "|---|---|---:|---:|---:|---:|"]
    for size in answers.get("results") or []:
        rows = size.get("rows") or 0
        per_row = f"{size['tokens'] / rows:.1f}" if rows else ""
        lines.append(
            f"| {size.get('answer')} | {size.get('source')} | {rows} | {size.get('chars', 0):,} "
            f"| {size.get('tokens', 0):,} | {per_row} |"
        )
    return [*lines, ""]


def _tier_table(title: str, tiers: Any) -> list[str]:
    if not isinstance(tiers, dict) or not tiers:
        return []
    lines = [f"| {title} | requests | p50 ms | p99 ms |", "|---|---:|---:|---:|"]
    for tier, stats in tiers.items():
        if isinstance(stats, dict):
            p50 = stats.get("p50_ms", stats.get("p50"))
            p99 = stats.get("p99_ms", stats.get("p99"))
            lines.append(f"| {tier} | {stats.get('count')} | {_fmt(p50, 2)} | {_fmt(p99, 2)} |")
    return [*lines, ""]


def _activator_lines(data: dict[str, Any]) -> list[str]:
    """The activator's own JSON (bench/activator.py) as tables; unknown shapes fall back to the raw JSON."""
    lines: list[str] = []
    lines += _tier_table("tier (tiers 1-2, held-out part)", data.get("tier_latency_ms"))
    for key, part in (("model_tiers", "held-out"), ("model_tiers_train", "train")):
        models = data.get(key) or {}
        whole = bool(models.get("whole_part"))
        scope = f"whole {part} part" if whole else f"{part} sample"
        lines += _tier_table(f"tier (with the Qwen models, {scope})", models.get("tier_latency_ms"))
        with_models = models.get("accuracy_with_models") or {}
        if "accuracy" not in with_models:
            continue
        act = with_models.get("act_accuracy") or {}
        chitchat = (with_models.get("per_category") or {}).get("chitchat") or {}
        lines.append(
            f"- all four tiers (3-4 on the real models) on the {scope} ({with_models.get('total')} requests): "
            f"{with_models['accuracy']:.1%} right; act {act.get('accuracy', 0):.1%} "
            f"({act.get('correct')}/{act.get('answered')}); chit-chat refused {chitchat.get('correct')}/"
            f"{chitchat.get('answered')}; unsafe changes {with_models.get('unsafe_changes')}, wrong-tool destructive "
            f"{with_models.get('wrong_tool_destructive')}"
        )
    learning = data.get("learning") or {}
    if "learned_queries" in learning:
        lines.append(
            f"- after {learning['learned_queries']:,} learned queries: {learning.get('stored_learned_routes')} stored "
            f"(max {learning.get('max_learned_routes')}), {learning.get('merged_near_duplicates')} merged, "
            f"{learning.get('evicted')} evicted"
        )
    cold = data.get("cold_cortex_route") or {}
    for label, runs in cold.items():
        if isinstance(runs, dict) and "first" in runs:
            lines.append(
                f"- cold `cortex route` ({label}): {_fmt(runs['first'].get('seconds'), 2)} s, then "
                f"{_fmt(runs['second'].get('seconds'), 2)} s ({runs['first'].get('tier')})"
            )
    facts = []
    if "offline_cascade_queries_per_second" in data:
        facts.append(
            f"routed queries/s (offline tiers, one process): {_fmt(data['offline_cascade_queries_per_second'])}"
        )
    accuracy = data.get("accuracy") or {}
    if "accuracy" in accuracy:
        facts.append(
            f"tiers 1-2 on the {accuracy.get('total')} held-out labelled requests: {accuracy['accuracy']:.1%} right"
        )
    memory = data.get("memory") or {}
    if "resident_mb" in memory:
        facts.append(f"resident memory: {_fmt(memory['resident_mb'])} MB (budget {memory.get('budget_mb')} MB)")
    lines += [f"- {fact}" for fact in facts]
    lines += [
        "",
        "<details><summary>activator JSON</summary>",
        "",
        "```json",
        json.dumps(data, indent=2)[:8000],
        "```",
        "",
        "</details>",
    ]
    return lines


def _where_ours_trails(
    peers: list[dict[str, Any]],
    singles: dict[str, dict[str, float | None]],
    p50: dict[str, dict[str, float | None]],
    toks: dict[str, dict[str, float | None]],
    tput: dict[str, dict[str, float | None]],
) -> list[str]:
    """Each column where our value is more than 10 % behind the best, with the leader named."""
    titles = {p["key"]: p["title"] for p in peers}
    found: list[str] = []

    def check(label: str, everyone: dict[str, float | None], higher: bool = False) -> None:
        # Our own variants (other settings of the same server) are not rivals.
        values = {k: v for k, v in everyone.items() if k == OURS or not (k.startswith(OURS) or k == RAW_API)}
        r = ratios(values, higher_is_better=higher).get(OURS)
        if r is not None and r > 1.1:
            best = min(
                (k for k, v in ratios(values, higher_is_better=higher).items() if v),
                key=lambda k: ratios(values, higher_is_better=higher)[k] or 0,
            )
            found.append(f"{label}: ours {_fmt(values[OURS])} vs {titles[best]} {_fmt(values[best])} ({r:.1f}×)")

    for label, values in singles.items():
        check(label, values)
    for op, values in p50.items():
        check(f"{op} p50 ms", values)
    for op, values in toks.items():
        check(f"{op} tokens", values)
    for level, values in tput.items():
        check(f"throughput at {level} concurrent", values, higher=True)
    return found


def main(argv: list[str] | None = None) -> int:
    """Re-render the report of an earlier run: ``python -m bench.report bench/results/<date>.json``."""
    import sys

    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("usage: python -m bench.report RESULTS.json", file=sys.stderr)
        return 2
    source = Path(args[0])
    document = json.loads(source.read_text())
    print(write_report(document, source.parent, plots=not document.get("quick")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
