"""Draw the shield's wiring (docs/img/wiring.png): Pi, HAT, amplifier, speakers, power.

Usage: python scripts/wiring_diagram.py [OUT_PNG]   (scripts/render_enclosure.sh runs it)
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

BOXES = {  # name: (x, y, width, height, colour, text)
    "supply": (0.2, 6.4, 2.6, 1.0, "#dddddd", "5 V 2.5 A micro-USB supply"),
    "pi": (0.2, 3.6, 3.4, 2.0, "#9bd39b", "Raspberry Pi Zero 2 W\nPWR socket (micro-USB)\npin 2 = 5 V, pin 6 = GND"),
    "hat": (
        0.2,
        0.6,
        3.4,
        2.2,
        "#f3a3a3",
        "ReSpeaker 2-Mics Pi HAT v1.x\n(WM8960, plugs on the 40-pin header)\n3.5 mm jack: tip L, ring R, sleeve GND",
    ),
    "amp": (5.0, 2.2, 2.8, 2.6, "#c9a3e6", "PAM8403 amplifier\nin: L, R, GND\npower: +5 V, GND\nout: L+ L-, R+ R-"),
    "spk0": (9.0, 4.2, 2.6, 1.1, "#b0c4f0", "speaker, cup 0\n(left channel)"),
    "spk1": (9.0, 1.9, 2.6, 1.1, "#b0c4f0", "speaker, cup 1\n(right channel)"),
}
WIRES = [  # from (x, y), to (x, y), label, where the label goes, colour
    ((1.5, 6.4), (1.5, 5.6), "micro-USB into PWR", (1.6, 5.95), "black"),
    ((1.9, 3.6), (1.9, 2.8), "HAT on the 40-pin header", (2.0, 3.15), "black"),
    ((3.6, 1.5), (5.0, 2.6), "3.5 mm TRS plug:\ntip -> L, ring -> R,\nsleeve -> GND", (3.9, 0.75), "tab:blue"),
    ((3.6, 4.6), (5.0, 4.2), "pin 2 -> +5 V\npin 6 -> GND", (3.75, 4.95), "tab:red"),
    ((7.8, 4.2), (9.0, 4.75), "L+ / L-", (8.0, 4.85), "tab:green"),
    ((7.8, 2.8), (9.0, 2.45), "R+ / R-", (8.0, 2.15), "tab:green"),
]


def draw(out: Path) -> None:
    """Write the diagram to out."""
    fig, ax = plt.subplots(figsize=(10, 6.2))
    for x, y, w, h, colour, text in BOXES.values():
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=colour, ec="black"))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=9)
    for start, end, label, (tx, ty), colour in WIRES:
        ax.annotate("", end, start, arrowprops={"arrowstyle": "-", "lw": 2, "color": colour})
        ax.text(tx, ty, label, fontsize=8, color=colour, va="center")
    ax.text(6.0, 0.3, "Never connect an amplifier output to ground (bridged outputs).", fontsize=8)
    ax.set_xlim(0, 11.8)
    ax.set_ylim(0, 7.6)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(out, dpi=90)


if __name__ == "__main__":
    draw(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img/wiring.png"))
