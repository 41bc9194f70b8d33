#!/usr/bin/env bash
# Render every part of every shield variant (enclosure/*.scad) to binary STL, a picture of each
# assembled variant, slicer estimates and the measured figures. The published outputs are tracked:
# rerun this after any change to enclosure/ and commit the results (the tests fail on stale STLs).
# Usage: scripts/render_enclosure.sh [OUT_DIR]
#   OUT_DIR   where the STLs go (default enclosure/stl/): <variant>-<part>.stl, <variant>.txt (the
#             variant's EARMUFF report lines, as OpenSCAD printed them), print.md (slicer estimates), checks.md (measured figures)
#   PNG_DIR   environment: where the pictures go (default docs/img/: enclosure-<variant>.png assembled,
#             enclosure-<variant>-exploded.png, wiring.png); PNG_DIR= (empty) skips them
# Needs openscad and the project's venv (trimesh, scipy); pictures need xvfb-run; slicer estimates
# need prusa-slicer (all installed by scripts/setup.sh --test).
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-enclosure/stl}"
png_dir="${PNG_DIR-docs/img}"
py="${PYTHON:-.venv/bin/python}"
parts=(shield cover can gasket fit)
for tool in openscad prusa-slicer; do
    command -v "$tool" >/dev/null || { echo "$tool not found (scripts/setup.sh --test installs it)" >&2; exit 1; }
done
if [ -n "$png_dir" ] && ! command -v xvfb-run >/dev/null; then
    echo "xvfb-run not found (apt-get install xvfb); set PNG_DIR= to skip the pictures" >&2; exit 1
fi
mkdir -p "$out"
[ -n "$png_dir" ] && mkdir -p "$png_dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Print settings of the estimates (docs/hardware.md, "Printing"): PrusaSlicer's built-in defaults
# with these overrides; PLA 1.24 g/cm3.
slice=(--layer-height 0.2 --first-layer-height 0.2 --perimeters 3 --top-solid-layers 5
       --bottom-solid-layers 5 --fill-density 15% --fill-pattern gyroid --nozzle-diameter 0.4
       --filament-diameter 1.75 --filament-density 1.24 --skirts 1)
{
    echo "| Variant | Part | Print time | Filament g |"
    echo "| --- | --- | --- | --- |"
} >"$tmp/print.md"

for scad in enclosure/*.scad; do
    name=$(basename "$scad" .scad)
    echo "== $name"
    openscad -D 'part="none"' -o "$tmp/none.csg" "$scad" >"$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log" >&2; exit 1; }
    grep '^ECHO: "EARMUFF ' "$tmp/$name.log" >"$out/$name.txt"
    for part in "${parts[@]}"; do
        if ! nice openscad -D "part=\"$part\"" -o "$tmp/$part.stl" "$scad" >"$tmp/$part.log" 2>&1; then
            cat "$tmp/$part.log" >&2; exit 1
        fi
        "$py" enclosure/measure.py publish "$tmp/$part.stl" "$out/$name-$part.stl"   # kept if unchanged
        nice prusa-slicer --export-gcode "${slice[@]}" -o "$tmp/$part.gcode" "$out/$name-$part.stl" >"$tmp/slice.log" 2>&1 \
            || { cat "$tmp/slice.log" >&2; exit 1; }
        time_=$(sed -n 's/^; estimated printing time (normal mode) = //p' "$tmp/$part.gcode")
        grams=$(sed -n 's/^; total filament used \[g\] = //p' "$tmp/$part.gcode")
        echo "| $name | $part | $time_ | $grams |" >>"$tmp/print.md"
        echo "   $out/$name-$part.stl ($time_, $grams g)"
    done
    if [ -n "$png_dir" ]; then
        for view in assembly exploded; do
            suffix=""
            [ "$view" = exploded ] && suffix="-exploded"
            nice xvfb-run -a openscad -D "part=\"$view\"" --imgsize=800,700 --viewall --autocenter \
                --colorscheme=Tomorrow --camera=0,0,0,60,0,215,0 \
                -o "$png_dir/enclosure-$name$suffix.png" "$scad" >>"$tmp/$name.log" 2>&1
            echo "   $png_dir/enclosure-$name$suffix.png"
        done
    fi
done
[ -n "$png_dir" ] && "$py" scripts/wiring_diagram.py "$png_dir/wiring.png"
cp "$tmp/print.md" "$out/print.md"
nice "$py" enclosure/measure.py "$out" >"$out/checks.md"
cat "$out/print.md" "$out/checks.md"
