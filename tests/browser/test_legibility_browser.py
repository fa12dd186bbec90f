"""Legibility in JupyterLab (issue 24): the progress text keeps a contrast of at least 4.5:1
against its background in the light and the dark theme (computed colours, WCAG's relative
luminance)."""

from __future__ import annotations

import pytest

from tests.browser.nb import PY_SETUP, notebook, toolkit_console_problems, wait_drawn

pytestmark = pytest.mark.browser

# ---- the progress text in the light and the dark theme ------------------------------------------

TWO = """\
g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 2.0}},
                     "b": {"process": "divide", "inputs": {"a": ("a", "z"), "b": 1.0}}})
w = GraphWidget(g, reg)
w
"""
BREAK = 'g.set_input("b", "b", 0.0)'

#: The progress text, its colour and the colour under it (the first opaque background up its
#: ancestors, with the translucent ones over it), as shown, and WCAG's contrast ratio.
CONTRAST = """() => {
    const el = document.querySelector('.cdw-graph-widget .cdw-progress');
    if (!el || !el.innerText.trim()) return null;
    const rgba = (c) => { const v = c.match(/rgba?\\(([^)]+)\\)/)[1].split(',').map(Number);
                          return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
    const layers = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
        const c = rgba(getComputedStyle(n).backgroundColor);
        if (c[3] > 0) layers.push(c);
        if (c[3] >= 1) break;
    }
    const over = (top, base) => base.map((b, i) => top[i] * top[3] + b * (1 - top[3]));
    let bg = [255, 255, 255];
    for (const c of layers.reverse()) bg = over(c, bg);
    const fg = over(rgba(getComputedStyle(el).color), bg);
    const lum = (c) => { const [r, g, b] = c.map((v) => { v /= 255;
        return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const [a, b] = [lum(fg), lum(bg)];
    return {text: el.innerText.trim(), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
            fg: fg.map(Math.round), bg: bg.map(Math.round),
            kind: el.classList.contains('cdw-progress-bad') ? 'bad'
                : el.classList.contains('cdw-progress-ok') ? 'ok' : '',
            weight: getComputedStyle(el).fontWeight,
            dot: getComputedStyle(el, '::before').backgroundColor,
            light: document.body.dataset.jpThemeLight};
}"""


def theme(lab, name: str) -> None:
    light = "true" if name == "JupyterLab Light" else "false"
    lab.evaluate(f"() => jupyterapp.commands.execute('apputils:change-theme', "
                 f"{{theme: '{name}'}})")
    lab.wait_for_js(f"() => document.body.dataset.jpThemeLight === '{light}'")


def contrast(lab, text: str, light: str) -> dict:
    return lab.wait_for_js(f"""(want) => {{ const c = ({CONTRAST})();
        return c && c.text.includes(want) && c.light === '{light}' && c; }}""", text,
                           timeout=60_000)


def test_the_progress_text_keeps_its_contrast_in_the_dark_theme(lab):
    with notebook(lab, None, "contrast.ipynb", [TWO], [BREAK], setup=PY_SETUP) as nb:
        nb.start()
        wait_drawn(lab, ["a", "b"])
        lab.click_button("Run")
        seen = {("ok", "light"): contrast(lab, "2/2 done", "true")}
        try:
            theme(lab, "JupyterLab Dark")
            seen["ok", "dark"] = contrast(lab, "2/2 done", "false")
            nb.run(0)
            lab.click_button("Run")
            seen["bad", "dark"] = contrast(lab, "1 failed of 2", "false")
            lab.page.mouse.move(0, 0)
            lab.screenshot("progress-dark-failed.png", selector=".cdw-graph-widget")
        finally:
            theme(lab, "JupyterLab Light")
        seen["bad", "light"] = contrast(lab, "1 failed of 2", "true")
        for (kind, _), c in seen.items():
            assert c["ratio"] >= 4.5 and c["kind"] == kind, seen
            assert (c["weight"] in ("600", "700")) is (kind == "bad"), seen
            assert c["dot"] not in ("", "rgba(0, 0, 0, 0)"), seen  # the run's outcome, a dot
        assert seen["ok", "dark"]["bg"] != seen["ok", "light"]["bg"], seen  # themed for real
        assert seen["ok", "dark"]["dot"] != seen["bad", "dark"]["dot"], seen
        assert toolkit_console_problems(lab.console) == []
