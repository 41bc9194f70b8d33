"""The printed shields: render every enclosure/*.scad with OpenSCAD and check the meshes.

The expected numbers (device profile, clearance, microphone holes) come from the .scad files
themselves, which print them as `ECHO: "EARMUFF key=value"` lines while rendering; everything
compared with them is measured on the rendered mesh (vertical ray casts and plane slices).
"""

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import trimesh
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
ENCLOSURE = ROOT / "enclosure"
VARIANTS = sorted(p.stem for p in ENCLOSURE.glob("*.scad"))
FN = 48          # facets on round things: enough for 0.1 mm, quick to render
PLATE = 200.0    # build plate, mm
TOL = 0.15       # how closely a measured surface must sit at the stated clearance, mm (facets: ~0.1)


@dataclass
class Shield:
    name: str
    params: dict
    printed: "trimesh.Trimesh"   # as exported: print orientation
    mesh: "trimesh.Trimesh"      # device coordinates: device on z = 0, axis on z


def parse_echo(text):
    params = {}
    for key, value in re.findall(r'^ECHO: "EARMUFF (\w+)=(.*)"$', text, flags=re.M):
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """Render every variant once per session, two at a time (the machines have two cores)."""
    if shutil.which("openscad") is None:
        pytest.skip("openscad is not installed (apt-get install openscad): cannot render the enclosure")
    out = tmp_path_factory.mktemp("enclosure")
    shields, running = {}, []
    queue = list(VARIANTS)
    while queue or running:
        while queue and len(running) < 2:
            name = queue.pop(0)
            stl = out / f"{name}.stl"
            cmd = ["openscad", "-D", f"fn={FN}", "-o", str(stl), str(ENCLOSURE / f"{name}.scad")]
            running.append((name, stl, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                         text=True)))
        name, stl, proc = running.pop(0)
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0 and stl.exists(), f"openscad failed on {name}:\n{stderr[-3000:]}"
        assert "WARNING" not in stderr, f"openscad warned on {name}:\n{stderr[-3000:]}"
        params = parse_echo(stdout + stderr)
        printed = trimesh.load(stl, force="mesh")
        mesh = printed.copy()
        flip = np.diag([1.0, -1.0, -1.0, 1.0])   # the export turned the part over about x ...
        flip[2, 3] = params["print_ztop"]         # ... and put its top face on z = 0
        mesh.apply_transform(flip)
        shields[name] = Shield(name, params, printed, mesh)
    return shields


@pytest.fixture(params=VARIANTS)
def shield(request, rendered):
    return rendered[request.param]


# ---------- geometry helpers (numpy only) ----------

def lowest_hits(mesh, pts):
    """For each (x, y) in pts, the z of the lowest surface a vertical ray from below meets (nan: none)."""
    pts = np.asarray(pts, float)
    tri = mesh.triangles[mesh.face_normals[:, 2] < -1e-9]   # the lowest hit always enters the solid
    lo, hi = tri[:, :, :2].min(axis=1), tri[:, :, :2].max(axis=1)
    near = np.all(hi >= pts.min(axis=0), axis=1) & np.all(lo <= pts.max(axis=0), axis=1)
    tri, lo, hi = tri[near], lo[near], hi[near]
    a, v0, v1 = tri[:, 0], tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    det = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    out = np.full(len(pts), np.nan)
    for chunk in np.array_split(np.arange(len(pts)), max(1, len(pts) // 64)):
        p = pts[chunk]
        k, m = np.nonzero((p[:, None, 0] >= lo[None, :, 0]) & (p[:, None, 0] <= hi[None, :, 0])
                          & (p[:, None, 1] >= lo[None, :, 1]) & (p[:, None, 1] <= hi[None, :, 1]))
        v2 = p[k] - a[m, :2]
        u = (v2[:, 0] * v1[m, 1] - v1[m, 0] * v2[:, 1]) / det[m]
        w = (v0[m, 0] * v2[:, 1] - v2[:, 0] * v0[m, 1]) / det[m]
        z = a[m, 2] + u * v0[m, 2] + w * v1[m, 2]
        z = np.where((u >= -1e-9) & (w >= -1e-9) & (u + w <= 1 + 1e-9), z, np.inf)
        zmin = np.full(len(chunk), np.inf)
        np.minimum.at(zmin, k, z)
        out[chunk] = np.where(np.isinf(zmin), np.nan, zmin)
    return out


def device_distance(profile, rz):
    """Signed distance (negative inside) from (r, z) points to the device body's surface."""
    poly = np.asarray(profile, float)
    a, b = poly, np.roll(poly, -1, axis=0)
    surface = ~((np.abs(a[:, 0]) < 1e-9) & (np.abs(b[:, 0]) < 1e-9))   # the axis is no surface
    rz = np.atleast_2d(np.asarray(rz, float))
    sa, sb = a[surface], b[surface]
    ab = sb - sa
    aq = rz[:, None, :] - sa[None]
    t = np.clip((aq * ab).sum(-1) / (ab * ab).sum(-1), 0, 1)
    dist = np.linalg.norm(aq - t[..., None] * ab, axis=-1).min(axis=1)
    y, x = rz[:, 1:2], rz[:, 0:1]
    crosses = (a[None, :, 1] > y) != (b[None, :, 1] > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = a[None, :, 0] + (y - a[None, :, 1]) * (b[None, :, 0] - a[None, :, 0]) / (b[None, :, 1] - a[None, :, 1])
    inside = (crosses & (x < x_at)).sum(axis=1) % 2 == 1
    return np.where(inside, -dist, dist)


def to_rz(xyz):
    xyz = np.asarray(xyz)
    return np.column_stack([np.hypot(xyz[:, 0], xyz[:, 1]), xyz[:, 2]])


def grown_radius(profile, clearance, z):
    """Radius at height z of the device grown by the clearance (bisection on the distance)."""
    lo, hi = 0.0, max(p[0] for p in profile) + 2 * clearance + 1
    for _ in range(60):
        mid = (lo + hi) / 2
        if device_distance(profile, [[mid, z]])[0] < clearance:
            lo = mid
        else:
            hi = mid
    return lo


# ---------- tests ----------

def test_every_variant_is_found():
    assert {"echo-dot-3", "echo-dot-4-5", "nest-mini"} <= set(VARIANTS)


def test_reports_its_fit_numbers(shield):
    p = shield.params
    for key in ("variant", "parts", "device_d", "device_h", "clearance", "mic_groups", "cup_centres",
                "hat_mics", "print_ztop", "profile"):
        assert key in p, f"{shield.name}: the .scad did not echo {key}"
    assert p["variant"] == shield.name
    assert len(p["mic_groups"]) == 2, "two speaker cups, one per output channel"
    for group, centre in zip(p["mic_groups"], p["cup_centres"]):
        assert np.allclose(np.mean(group, axis=0), centre, atol=1e-3)


def test_mesh_is_watertight(shield):
    assert shield.printed.is_watertight, f"{shield.name}: mesh is not watertight"
    assert shield.printed.volume > 0


def test_prints_as_the_stated_number_of_parts(shield):
    assert shield.printed.body_count == shield.params["parts"]


def test_fits_the_build_plate(shield):
    ext = shield.printed.extents
    assert np.all(ext <= PLATE), f"{shield.name}: {ext.round(1)} mm does not fit {PLATE:.0f} mm"
    assert abs(shield.printed.bounds[0, 2]) < 1e-6, "the part should lie on the bed (z = 0)"


def test_prints_without_support(shield):
    """In print orientation no face overhangs more than 45 degrees, except flat bridges."""
    nz = shield.printed.face_normals[:, 2]
    steep = (nz < -0.72) & (nz > -0.999)
    area = shield.printed.area_faces[steep].sum()
    assert area < 1.0, f"{shield.name}: {area:.1f} mm2 of overhang steeper than 45 degrees"


def test_skirt_fits_the_device_side(shield):
    """Slice through the skirt: the inner contour lies at the clearance from the device."""
    p, mesh = shield.params, shield.mesh
    z = mesh.bounds[0, 2] + 1.5
    seg = trimesh.intersections.mesh_plane(mesh, [0, 0, 1], [0, 0, z]).reshape(-1, 3)
    assert len(seg), f"{shield.name}: nothing at z = {z:.1f}"
    rz = to_rz(seg)
    d = device_distance(p["profile"], rz)
    inner = d < p["clearance"] + 1.0
    assert inner.sum() > 20
    assert d[inner].min() >= p["clearance"] - TOL, f"{shield.name}: skirt cuts into the device"
    assert abs(np.median(d[inner]) - p["clearance"]) <= TOL
    measured = 2 * np.median(rz[inner, 0])
    expected = 2 * grown_radius(p["profile"], p["clearance"], z)
    assert abs(measured - expected) <= 2 * TOL, \
        f"{shield.name}: inner fit diameter {measured:.2f} mm at z = {z:.1f}, expected {expected:.2f}"


def test_top_rests_on_the_device_at_the_clearance(shield):
    """Vertical rays over the top: the shield never cuts into the device and rests at the clearance."""
    p, mesh = shield.params, shield.mesh
    r_max = 0.9 * p["device_d"] / 2
    g = np.arange(-r_max, r_max + 1e-9, 2.0)
    xy = np.array([(x, y) for x in g for y in g if np.hypot(x, y) <= r_max])
    z = lowest_hits(mesh, xy)
    hit = ~np.isnan(z)
    d = device_distance(p["profile"], to_rz(np.column_stack([xy[hit], z[hit]])))
    assert d.min() >= p["clearance"] - TOL, f"{shield.name}: shield cuts into the device top"
    resting = np.abs(d - p["clearance"]) <= TOL
    assert resting.mean() > 0.5, f"{shield.name}: only {resting.mean():.0%} of the top sits at the clearance"


def test_cups_sit_over_the_microphone_holes(shield):
    """The opening of each cup, seen from below, is centred on its group of holes and covers them."""
    p, mesh = shield.params, shield.mesh
    step = 0.4
    for i, group in enumerate(p["mic_groups"]):
        holes = np.asarray(group, float)
        centre = holes.mean(axis=0)
        half = np.abs(holes - centre).max() + 8
        gx = np.arange(centre[0] - half, centre[0] + half + 1e-9, step)
        gy = np.arange(centre[1] - half, centre[1] + half + 1e-9, step)
        xx, yy = np.meshgrid(gx, gy, indexing="ij")
        xy = np.column_stack([xx.ravel(), yy.ravel()])
        z = lowest_hits(mesh, xy)
        d = np.full(len(xy), np.inf)
        hit = ~np.isnan(z)
        d[hit] = device_distance(p["profile"], to_rz(np.column_stack([xy[hit], z[hit]])))
        cavity = (d > p["clearance"] + 0.4).reshape(xx.shape)
        labels, _ = ndimage.label(cavity)

        def label_at(pt):
            return labels[int(round((pt[0] - gx[0]) / step)), int(round((pt[1] - gy[0]) / step))]

        cup = label_at(centre)
        assert cup, f"{shield.name}: no cup opening over the centre of group {i}"
        for h in holes:
            assert label_at(h) == cup, f"{shield.name}: cup {i} does not cover the hole at {h}"
        mask = labels == cup
        assert not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()), \
            f"{shield.name}: cup {i}'s opening runs into something else"
        measured = np.array([xx[mask].mean(), yy[mask].mean()])
        assert np.linalg.norm(measured - centre) <= 1.0, \
            f"{shield.name}: cup {i} opening centred at {measured.round(2)}, holes at {centre.round(2)}"


def test_own_microphones_face_away_from_the_cups(shield):
    p = shield.params
    for m in p["hat_mics"]:
        assert m[2] > p["print_ztop"], "the HAT's microphones sit above the top face, facing up"
        for c in p["cup_centres"]:
            assert np.hypot(m[0] - c[0], m[1] - c[1]) > 20, "a HAT microphone sits over a cup"
