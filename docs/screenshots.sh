#!/usr/bin/env bash
# Re-make the screenshots in docs/ with the current widgets: they are taken by the browser
# tests (JupyterLab + headless Chromium, tests/browser), which save them under test-artifacts/;
# this runs those tests and copies the pictures here. Needs the Docker engine and Chromium
# (scripts/setup.sh), like the tests themselves.
#
#   docs/screenshots.sh            # from the repository's root or anywhere
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# docs/<name>          <- test-artifacts/<name the test saves>, by the test that takes it
SHOTS=(
  "registry-widget.png  registry-widget.png       tests/browser/test_widgets_browser.py::test_registry_widget"
  "graph-widget.png     graph-widget.png          tests/browser/test_widgets_browser.py::test_seed_graph_run_watch_inspect"
  "scatter-widget.png   scatter-element.png       tests/browser/test_scatter_browser.py::test_a_scattered_node_shows_its_elements_and_one_in_full"
  "timeline-widget.png  timeline-1000-grouped.png tests/browser/test_timeline_browser.py"
)
tests=()
for shot in "${SHOTS[@]}"; do
  read -r _ _ test <<<"$shot"
  tests+=("$test")
done
rm -f test-artifacts/{registry-widget,graph-widget,scatter-element,timeline-1000-grouped}.png
CONTAINERDAG_REQUIRE_DOCKER=1 CONTAINERDAG_REQUIRE_BROWSER=1 \
  "$ROOT/.venv/bin/python" -m pytest -q -p no:cacheprovider "${tests[@]}"
for shot in "${SHOTS[@]}"; do
  read -r doc artifact _ <<<"$shot"
  cp "test-artifacts/$artifact" "docs/$doc"
  echo "docs/$doc <- test-artifacts/$artifact"
done
