"""What a class reads on a page, and the defects no page may show (issue 23's screen-text audit).

`visible_texts(at)` collects every text an AppTest run puts on the screen: titles, markdown, captions, alerts,
metrics, progress texts, expander and widget labels, the options of choice widgets, page links, and inside every
Plotly figure its title, axis titles, annotations, legend entries and colour-bar titles. `defects(texts)` returns
each text that matches one of DEFECTS, with the rule's name; `charts_without_finding(at)` names every chart
drawn without its one-sentence finding (issue 23: every chart says what to look at).
"""

import json
import re

# rule name -> pattern. Each is a way a sentence has been seen to break on a page (issue 23's list).
DEFECTS = {
    "nan": re.compile(r"(?<![\w.])nan(?![\w])", re.I),
    "None": re.compile(r"\bNone\b"),
    "unformatted {field}": re.compile(r"\{[A-Za-z_][A-Za-z0-9_.]*(?::[^{}]*)?\}"),
    "n/a glued to a word": re.compile(r"n/a[A-Za-z0-9]|[A-Za-z0-9]n/a"),
    "(0 of 0)": re.compile(r"\(0 of 0\)"),
    "0.0e+00": re.compile(r"(?<![\d.])0(?:\.0+)?e[+-]?0+\b"),
    "phrase repeated around 'and'": re.compile(r"(?<![\w-])([A-Za-z][\w-]*(?: [\w-]+){0,3}) and \1(?![\w-])"),
    "bare inf": re.compile(r"(?<![\w.])[+-]?inf(?![\w])", re.I),
    "internal model id": re.compile(r"(?<![\w/])(?:cifar10|shapes)-(?:resnet|plain)\d+(?:-published)?(?![\w./])"),
    "traceback": re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+"),
}


def _figure_texts(spec: str) -> list[str]:
    fig = json.loads(spec)
    layout, out = fig.get("layout", {}), []

    def title(t):
        if isinstance(t, dict):
            t = t.get("text")
        if t:
            out.append(str(t))

    title(layout.get("title"))
    for k, v in layout.items():
        if isinstance(v, dict) and (k.startswith(("xaxis", "yaxis", "coloraxis", "scene", "polar"))):
            title(v.get("title"))
            if isinstance(v.get("colorbar"), dict):
                title(v["colorbar"].get("title"))
    out += [str(a["text"]) for a in layout.get("annotations", []) if a.get("text")]
    for tr in fig.get("data", []):
        if tr.get("name") and tr.get("showlegend", True) is not False:
            out.append(str(tr["name"]))
        if isinstance(tr.get("colorbar"), dict):
            title(tr["colorbar"].get("title"))
        if tr.get("mode", "").find("text") >= 0 and isinstance(tr.get("text"), list):
            out += [str(t) for t in tr["text"] if t]  # text drawn on the chart (the network picture's labels)
    return out


def visible_texts(at) -> list[str]:
    """Every text the run shows, in document order per kind."""
    texts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "info", "warning", "success", "error",
                 "exception"):
        texts += [str(getattr(e, "value", e)) for e in at.get(kind)]
    for m in at.get("metric"):
        texts += [str(m.label), str(m.value), str(getattr(m, "delta", "") or "")]
    for p in at.get("progress"):
        texts.append(str(getattr(p.proto, "text", "")))
    for e in at.get("expander"):
        texts.append(str(getattr(e, "label", "") or getattr(e.proto, "label", "")))
    for kind in ("selectbox", "radio", "segmented_control", "pills", "select_slider", "multiselect", "slider",
                 "number_input", "checkbox", "toggle", "button", "text_input"):
        for w in at.get(kind):
            texts.append(str(getattr(w, "label", "")))
            texts += [str(o) for o in getattr(w, "options", []) or []]
    for link in at.get("page_link"):
        texts.append(str(getattr(link.proto, "label", "")))
    for chart in at.get("plotly_chart"):
        texts += _figure_texts(chart.proto.spec)
    return [t for t in texts if t]


def charts_without_finding(at) -> list[str]:
    """The title of every chart the run drew (frame.draw.show_chart records each in the page's report with its
    caption, headline first) whose one-sentence finding, what a student should look at, is not on the screen."""
    from frame.report import _REPORT

    items = at.session_state[_REPORT] if _REPORT in at.session_state else []
    shown = {str(m.value) for m in at.get("markdown") if str(m.value)}
    out = []
    for kind, fig, text in items:
        if kind == "chart" and not any(text == m or text.startswith(m + " ") for m in shown):
            title = fig.layout.title.text if fig.layout.title and fig.layout.title.text else "a chart"
            out.append(str(title))
    return out


def defects(texts: list[str]) -> list[tuple[str, str]]:
    """(rule, the offending text shortened around the match) for every defect found."""
    found = []
    for t in texts:
        for rule, pattern in DEFECTS.items():
            m = pattern.search(t)
            if m:
                a, b = max(0, m.start() - 60), min(len(t), m.end() + 60)
                found.append((rule, ("…" if a else "") + t[a:b].replace("\n", " ") + ("…" if b < len(t) else "")))
    return found
