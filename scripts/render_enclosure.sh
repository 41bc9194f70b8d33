#!/usr/bin/env bash
# Render every shield variant (enclosure/*.scad) to STL, plus a PNG preview of each in place.
# Usage: scripts/render_enclosure.sh [OUT_DIR]
#   OUT_DIR   where the STLs go (default enclosure/build/, git-ignored), with <variant>.log (OpenSCAD's
#             output) and <variant>.txt (the variant's fit numbers, key=value, from the same render)
#   PNG_DIR   environment: where the previews go (default docs/img/, as enclosure-<variant>.png);
#             PNG_DIR= (empty) skips them
# Needs openscad; the previews need xvfb-run (Debian: apt-get install openscad xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-enclosure/build}"
png_dir="${PNG_DIR-docs/img}"
command -v openscad >/dev/null || { echo "openscad not found (apt-get install openscad)" >&2; exit 1; }
if [ -n "$png_dir" ] && ! command -v xvfb-run >/dev/null; then
    echo "xvfb-run not found (apt-get install xvfb); set PNG_DIR= to skip the previews" >&2; exit 1
fi
mkdir -p "$out"
[ -n "$png_dir" ] && mkdir -p "$png_dir"

for scad in enclosure/*.scad; do
    name=$(basename "$scad" .scad)
    echo "== $name"
    if ! openscad -o "$out/$name.stl" "$scad" >"$out/$name.log" 2>&1; then
        cat "$out/$name.log" >&2; exit 1
    fi
    sed -n 's/^ECHO: "EARMUFF \(.*\)"$/\1/p' "$out/$name.log" >"$out/$name.txt"
    echo "   $out/$name.stl"
    if [ -n "$png_dir" ]; then
        xvfb-run -a openscad -D assembly=true --imgsize=800,600 --viewall --autocenter \
            --colorscheme=Tomorrow --camera=0,0,0,55,0,200,0 \
            -o "$png_dir/enclosure-$name.png" "$scad" >>"$out/$name.log" 2>&1
        echo "   $png_dir/enclosure-$name.png"
    fi
done
