#!/usr/bin/env bash
# The demo: set up (if needed), inspect the bundled sample site with the shipped model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=${1:-demo-output}
.venv/bin/cracks inspect sample/road_section.tif --truth sample/road_section_truth.tif --standard astm-d6433 --out "$out"
echo
echo "Done. Open $out/road_section/report.pdf, and load $out/road_section/cracks.gpkg (or cracks.geojson) in QGIS."
