"""Measure the rendered enclosure parts: mass and centre of mass at a stated infill, wall thickness.

Used by tests/test_enclosure.py and by scripts/render_enclosure.sh (which writes enclosure/stl/checks.md).
Every figure comes from the meshes; the .scad files only say where each part goes (their EARMUFF lines).
Run: python enclosure/measure.py [STL_DIR]   (default enclosure/stl): the figures as a markdown table
     python enclosure/measure.py publish RENDERED.stl PUBLISHED.stl: publish a render (binary STL)
"""

import json
import re
import sys
from pathlib import Path

import numpy as np
import trimesh
from scipy import ndimage
from scipy.spatial import ConvexHull

# Print settings the masses are stated for (docs/hardware.md, "Printing").
DENSITY = 1.24e-3  # g/mm3, PLA
SHELL = 1.2  # mm of solid skin on every surface (3 perimeters, 5 top/bottom layers of 0.2 mm)
INFILL = 0.15  # infill fraction inside the skin
PITCH = 0.5  # mm, voxel size for mass and centre of mass
WALL_PITCH = 0.4  # mm, spacing of the thickness samples (the thickness itself is exact along each ray)
PARTS = ("shield", "cover", "can", "gasket", "fit")
STRUCTURAL = ("shield", "cover", "can")  # held to the 1.2 mm wall; the gasket and fit test are thin on purpose
# A published STL is current when a new render matches it this closely (renders differ by float32
# rounding in the binary STL, about 1e-7 here): relative volume, and bounds in mm.
SAME_VOLUME = 1e-5
SAME_BOUNDS = 0.01


def same_shape(a: trimesh.Trimesh, b: trimesh.Trimesh) -> bool:
    """Whether two renders of a part agree in volume and bounds (SAME_VOLUME, SAME_BOUNDS)."""
    return (
        abs(a.volume - b.volume) <= SAME_VOLUME * abs(b.volume)
        and float(np.abs(a.bounds - b.bounds).max()) <= SAME_BOUNDS
    )


def publish(rendered: Path, published: Path) -> None:
    """Write a render as binary STL, unless the published file already has the same shape (no churn)."""
    new = trimesh.load(rendered, force="mesh", process=False)
    if published.exists() and same_shape(trimesh.load(published, force="mesh"), new):
        return
    new.export(published)


def parse_echo(text: str) -> dict:
    """The `ECHO: "EARMUFF key=value"` lines of an OpenSCAD run, values parsed as JSON where they are."""
    params = {}
    for key, value in re.findall(r'^ECHO: "EARMUFF (\w+)=(.*)"$', text, flags=re.M):
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def to_device(mesh: trimesh.Trimesh, angle: float, xy, z0: float) -> trimesh.Trimesh:
    """A part from print orientation into device coordinates: R(angle) * (x, -y, z0 - z) + (dx, dy, 0)."""
    a = np.radians(angle)
    m = np.diag([1.0, -1.0, -1.0, 1.0])
    m[2, 3] = z0
    rot = np.eye(4)
    rot[:2, :2] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    rot[:2, 3] = xy
    out = mesh.copy()
    out.apply_transform(rot @ m)
    return out


def crossings(mesh: trimesh.Trimesh, xs: np.ndarray, ys: np.ndarray, chunk: int = 2_000_000):
    """Where vertical lines at every (xs[i], ys[j]) cross the surface: arrays i, j, z and |normal z|."""
    tri = mesh.triangles
    lo, hi = tri[:, :, :2].min(axis=1), tri[:, :, :2].max(axis=1)
    i0, i1 = np.searchsorted(xs, lo[:, 0]), np.searchsorted(xs, hi[:, 0], side="right")
    j0, j1 = np.searchsorted(ys, lo[:, 1]), np.searchsorted(ys, hi[:, 1], side="right")
    ni, nj = np.maximum(i1 - i0, 0), np.maximum(j1 - j0, 0)
    count = ni * nj
    bounds = np.searchsorted(np.cumsum(count), np.arange(chunk, count.sum() + chunk, chunk), side="right")
    out, start = [], 0
    for stop in np.unique(np.append(np.maximum(bounds, 1), len(tri))):
        sel = np.arange(start, stop)
        start = stop
        c = count[sel]
        t = np.repeat(sel, c)
        k = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)
        ii, jj = i0[t] + k // nj[t], j0[t] + k % nj[t]
        a, v0, v1 = tri[t, 0], tri[t, 1] - tri[t, 0], tri[t, 2] - tri[t, 0]
        p = np.column_stack([xs[ii], ys[jj]]) - a[:, :2]
        det = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
        ok = np.abs(det) > 1e-12
        det = np.where(ok, det, 1.0)
        u = (p[:, 0] * v1[:, 1] - v1[:, 0] * p[:, 1]) / det
        w = (v0[:, 0] * p[:, 1] - p[:, 0] * v0[:, 1]) / det
        hit = ok & (u >= 0) & (w >= 0) & (u + w <= 1)
        out.append(
            (ii[hit], jj[hit], (a[:, 2] + u * v0[:, 2] + w * v1[:, 2])[hit], np.abs(mesh.face_normals[t[hit], 2]))
        )
    return tuple(np.concatenate(x) for x in zip(*out))


def grid(lo: float, hi: float, step: float) -> np.ndarray:
    """Sample positions covering [lo, hi], nudged off round numbers so no line runs along an edge."""
    return np.arange(lo - step, hi + step, step) + step * 0.0137


def runs_along_z(mesh: trimesh.Trimesh, xs, ys, zs):
    """For every voxel centre (xs x ys x zs): the length of the solid interval it lies in along z (0:
    outside), and the smaller |normal z| of the interval's two ends (how squarely the line meets them)."""
    ii, jj, z, nz = crossings(mesh, xs, ys)
    ray = ii * len(ys) + jj
    order = np.lexsort((z, ray))
    ray, z, nz = ray[order], z[order], nz[order]
    span = float(zs[-1] - zs[0]) + 10.0
    key = ray * span + (z - zs[0])
    first = np.searchsorted(ray, np.arange(len(xs) * len(ys)))
    q = np.arange(len(xs) * len(ys))[:, None] * span + (zs[None, :] - zs[0])
    idx = np.searchsorted(key, q.ravel()).reshape(q.shape)
    inside = ((idx - first[:, None]) % 2 == 1) & (idx < len(z))
    safe = np.clip(idx, 1, len(z) - 1)
    run = np.where(inside, z[safe] - z[safe - 1], 0.0)
    square = np.where(inside, np.minimum(nz[safe], nz[safe - 1]), 0.0)
    shape = (len(xs), len(ys), len(zs))
    return run.reshape(shape), square.reshape(shape)


def solid(mesh: trimesh.Trimesh, pitch: float):
    """Voxel centres (xs, ys, zs) over the mesh's bounds, and which of them lie inside it."""
    (x0, y0, z0), (x1, y1, z1) = mesh.bounds
    xs, ys, zs = grid(x0, x1, pitch), grid(y0, y1, pitch), grid(z0, z1, pitch)
    return (xs, ys, zs), runs_along_z(mesh, xs, ys, zs)[0] > 0


def printed_mass(mesh: trimesh.Trimesh):
    """Grams and centre of mass of a part printed with SHELL mm of skin and INFILL inside."""
    (xs, ys, zs), inside = solid(mesh, PITCH)
    depth = ndimage.distance_transform_edt(inside) * PITCH
    weight = np.where(depth > SHELL, INFILL, 1.0) * inside
    total = weight.sum()
    com = [
        (weight.sum(axis=tuple(k for k in range(3) if k != axis)) * c).sum() / total
        for axis, c in enumerate((xs, ys, zs))
    ]
    return total * PITCH**3 * DENSITY, np.array(com)


def thinnest_wall(mesh: trimesh.Trimesh) -> float:
    """Smallest wall: at sample points inside the part, its solid run along x, y and z times the cosine
    at which the line meets the surfaces (exact for flat walls at any angle); lines meeting a surface at
    more than 45 degrees from square (grazing a curve) are not used."""
    (x0, y0, z0), (x1, y1, z1) = mesh.bounds
    xs, ys, zs = grid(x0, x1, WALL_PITCH), grid(y0, y1, WALL_PITCH), grid(z0, z1, WALL_PITCH)
    best = np.full((len(xs), len(ys), len(zs)), np.inf)
    for perm, axes, back in (
        ([0, 1, 2], (xs, ys, zs), (0, 1, 2)),
        ([1, 2, 0], (ys, zs, xs), (2, 0, 1)),
        ([2, 0, 1], (zs, xs, ys), (1, 2, 0)),
    ):
        swap = trimesh.Trimesh(mesh.vertices[:, perm], mesh.faces, process=False)
        run, square = (a.transpose(back) for a in runs_along_z(swap, *axes))
        best = np.where((run > 0) & (square >= 0.7), np.minimum(best, run * square), best)
    return float(best[np.isfinite(best)].min())


def footprint_margin(params: dict, xy) -> float:
    """How far (mm) the point xy lies inside the convex hull of the gasket rings (negative: outside)."""
    r = params["gasket_r"]
    a = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    pts = np.concatenate(
        [np.asarray(c) + r * np.column_stack([np.cos(a), np.sin(a)]) for c in params["gasket_centres"]]
    )
    hull = ConvexHull(pts)
    # each facet: normal . p + offset <= 0 inside
    return float(-(hull.equations[:, :2] @ np.asarray(xy) + hull.equations[:, 2]).max())


def assembly_mass(params: dict, parts: dict):
    """Total grams and centre of mass of the assembled shield: printed parts placed, plus bought parts."""
    masses, moments = [], []
    for name, angle, xy, z0 in params["placements"]:
        grams, com = printed_mass(to_device(parts[name], angle, xy, z0))
        masses.append(grams)
        moments.append(grams * com)
    for _, grams, pos in params["masses"]:
        masses.append(grams)
        moments.append(grams * np.asarray(pos, float))
    total = sum(masses)
    return total, np.sum(moments, axis=0) / total


def report(stl_dir: Path) -> str:
    """A markdown table of every variant's measured figures (mass, balance, walls)."""
    rows = ["| Variant | Part | Printed g (15 % infill) | Thinnest wall mm |", "| --- | --- | --- | --- |"]
    balance = [
        "| Variant | Assembled g | Centre of mass x, y, z mm | Inside the gasket footprint by mm |",
        "| --- | --- | --- | --- |",
    ]
    for txt in sorted(stl_dir.glob("*.txt")):
        params = parse_echo(txt.read_text())
        name = params["variant"]
        parts = {p: trimesh.load(stl_dir / f"{name}-{p}.stl", force="mesh") for p in PARTS}
        for p, mesh in parts.items():
            wall = f"{thinnest_wall(mesh):.2f}" if p in STRUCTURAL else "thin on purpose"
            rows.append(f"| {name} | {p} | {printed_mass(mesh)[0]:.1f} | {wall} |")
        total, com = assembly_mass(params, parts)
        balance.append(
            f"| {name} | {total:.0f} | {com[0]:.1f}, {com[1]:.1f}, {com[2]:.1f} | "
            f"{footprint_margin(params, com[:2]):.1f} |"
        )
    return "\n".join(rows + [""] + balance) + "\n"


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "publish":
        publish(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        print(report(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "stl")), end="")
