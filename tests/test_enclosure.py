"""The printed shields: render every part of every enclosure/*.scad with OpenSCAD and check the meshes.

The expected numbers (device profile, clearance, holes, where each part goes) come from the .scad files
themselves, which print them as `ECHO: "EARMUFF key=value"` lines while rendering; everything compared
with them is measured on the rendered meshes (ray casts, plane slices, voxels: enclosure/measure.py).
The same renders are compared with the published STLs in enclosure/stl/, so those never go stale.
"""

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import trimesh
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
ENCLOSURE = ROOT / "enclosure"
sys.path.insert(0, str(ENCLOSURE))
import measure  # noqa: E402  (enclosure/measure.py is not a package)

pytestmark = pytest.mark.enclosure


VARIANTS = sorted(p.stem for p in ENCLOSURE.glob("*.scad"))
PUBLISHED = ENCLOSURE / "stl"
PLATE = 200.0  # build plate, mm
TOL = 0.15  # how closely a measured surface must sit at the stated clearance, mm (facets: ~0.1)
RIB = 1.2  # minimum wall of the structural parts (enclosure/lib/geometry.scad)
FACETS = 0.1  # how much thinner a curved wall may come out on the STL's facets, mm
FINGER = 8.0  # fingertip radius, mm; PRESS: how far below a button's surface it must reach
PRESS = 0.5


@dataclass
class Variant:
    name: str
    params: dict
    printed: dict  # part name -> mesh as exported (print orientation)

    def placed(self, part: str, k: int = 0) -> "trimesh.Trimesh":
        """The k-th copy of a part in device coordinates (device on z = 0, axis on z)."""
        _, angle, xy, z0 = [p for p in self.params["placements"] if p[0] == part][k]
        return measure.to_device(self.printed[part], angle, xy, z0)


def run_openscad(name, part, out):
    cmd = ["openscad", "-D", f'part="{part}"', "-o", str(out), str(ENCLOSURE / f"{name}.scad")]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """Render every part of every variant once per session, two at a time (the machines have two cores)."""
    assert shutil.which("openscad"), "openscad is not installed (scripts/setup.sh --test installs it)"
    out = tmp_path_factory.mktemp("enclosure")
    jobs = [(n, p) for n in VARIANTS for p in ("none",) + measure.PARTS]
    logs, running = {}, []
    while jobs or running:
        while jobs and len(running) < 2:
            name, part = jobs.pop(0)
            target = out / f"{name}-{part}.{'csg' if part == 'none' else 'stl'}"
            running.append((name, part, run_openscad(name, part, target)))
        name, part, proc = running.pop(0)
        stdout, stderr = proc.communicate(timeout=900)
        assert proc.returncode == 0, f"openscad failed on {name} {part}:\n{stderr[-3000:]}"
        assert "WARNING" not in stderr, f"openscad warned on {name} {part}:\n{stderr[-3000:]}"
        logs[name] = stdout + stderr
    return {
        n: Variant(
            n, measure.parse_echo(logs[n]), {p: trimesh.load(out / f"{n}-{p}.stl", force="mesh") for p in measure.PARTS}
        )
        for n in VARIANTS
    }


@pytest.fixture(params=VARIANTS)
def variant(request, rendered):
    return rendered[request.param]


# ---------- geometry helpers ----------


def hits(mesh, xy):
    """For each (x, y): the sorted z where a vertical line there crosses the mesh."""
    xy = np.asarray(xy, float)
    out = []
    for x, y in xy:
        _, _, z, _ = measure.crossings(mesh, np.array([x]), np.array([y]))
        out.append(np.sort(z))
    return out


def lowest(mesh, xy):
    """For each (x, y) of a set of grid points: the lowest z where the mesh is crossed (nan: none)."""
    xy = np.asarray(xy, float)
    xs, ys = np.unique(xy[:, 0]), np.unique(xy[:, 1])
    z = surface_grid(mesh, xs, ys, "min")
    return z[np.searchsorted(xs, xy[:, 0]), np.searchsorted(ys, xy[:, 1])]


def highest(mesh, xy):
    return np.array([z[-1] if len(z) else np.nan for z in hits(mesh, xy)])


def surface_grid(mesh, xs, ys, pick):
    """pick ('min' or 'max') of the crossings on a grid of vertical lines (nan: none)."""
    ii, jj, z, _ = measure.crossings(mesh, xs, ys)
    flat = np.full(len(xs) * len(ys), np.inf if pick == "min" else -np.inf)
    (np.minimum if pick == "min" else np.maximum).at(flat, ii * len(ys) + jj, z)
    flat[np.isinf(flat)] = np.nan
    return flat.reshape(len(xs), len(ys))


def device_distance(profile, rz):
    """Signed distance (negative inside) from (r, z) points to the device body's surface."""
    poly = np.asarray(profile, float)
    a, b = poly, np.roll(poly, -1, axis=0)
    surface = ~((np.abs(a[:, 0]) < 1e-9) & (np.abs(b[:, 0]) < 1e-9))  # the axis is no surface
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


def top_z(profile, r):
    """Height of the device's top surface at radius r."""
    p = np.asarray(profile, float)
    top = p[: int(np.argmax(p[:, 0])) + 1]
    return np.interp(r, top[:, 0], top[:, 1])


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


def disc(r, step):
    g = np.arange(-r, r + 1e-9, step) + 0.0137  # off round numbers: no line along a mesh edge
    return np.array([(x, y) for x in g for y in g if np.hypot(x, y) <= r])


# ---------- every part ----------


def test_every_variant_is_found():
    assert {"echo-dot-3", "echo-dot-4-5", "nest-mini"} <= set(VARIANTS)


def test_reports_its_numbers(variant):
    p = variant.params
    for key in (
        "variant",
        "parts",
        "device_d",
        "device_h",
        "clearance",
        "profile",
        "print_ztop",
        "mic_groups",
        "cup_centres",
        "pockets",
        "buttons",
        "covered",
        "cover",
        "hat_mics",
        "stack",
        "masses",
        "placements",
        "gasket_centres",
        "gasket_r",
        "back_volume_mm3",
    ):
        assert key in p, f"{variant.name}: the .scad did not echo {key}"
    assert p["variant"] == variant.name
    assert [q[0] for q in p["parts"]] == list(measure.PARTS)
    assert len(p["mic_groups"]) == 2, "two speaker cups, one per output channel"


def test_parts_are_watertight_and_whole(variant):
    for part, mesh in variant.printed.items():
        assert mesh.is_watertight, f"{variant.name} {part}: mesh is not watertight"
        assert mesh.volume > 0
        assert mesh.body_count == (2 if part == "gasket" else 1), f"{variant.name} {part}: {mesh.body_count} bodies"


def test_parts_fit_the_build_plate(variant):
    for part, mesh in variant.printed.items():
        assert np.all(mesh.extents <= PLATE), f"{variant.name} {part}: {mesh.extents.round(1)} mm"
        assert abs(mesh.bounds[0, 2]) < 1e-4, f"{variant.name} {part} should lie on the bed (z = 0)"


def test_parts_print_without_support(variant):
    """In print orientation no face overhangs more than 45 degrees, except flat bridges."""
    for part, mesh in variant.printed.items():
        nz = mesh.face_normals[:, 2]
        steep = (nz < -0.72) & (nz > -0.999)
        area = mesh.area_faces[steep].sum()
        assert area < 1.0, f"{variant.name} {part}: {area:.1f} mm2 of overhang steeper than 45 degrees"


def test_published_stls_are_current(variant):
    """enclosure/stl/ holds what the .scad files render now (scripts/render_enclosure.sh rewrites it)."""
    assert measure.parse_echo((PUBLISHED / f"{variant.name}.txt").read_text()) == variant.params, (
        f"{variant.name}: enclosure/stl/{variant.name}.txt is stale: rerun scripts/render_enclosure.sh"
    )
    for part, mesh in variant.printed.items():
        path = PUBLISHED / f"{variant.name}-{part}.stl"
        assert path.exists(), f"{path.relative_to(ROOT)} is missing: run scripts/render_enclosure.sh"
        old = trimesh.load(path, force="mesh")
        assert measure.same_shape(old, mesh), (
            f"{path.relative_to(ROOT)} is stale (volume {old.volume:.0f} vs "
            f"{mesh.volume:.0f} mm3, bounds {old.bounds.round(2).tolist()} vs {mesh.bounds.round(2).tolist()})"
        )
    for suffix in ("", "-exploded"):
        png = ROOT / "docs" / "img" / f"enclosure-{variant.name}{suffix}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{png.relative_to(ROOT)} is missing"


# ---------- fit on the device ----------


def test_skirt_fits_the_device_side(variant):
    """Slice through the skirt: the inner contour lies at the clearance from the device."""
    p, mesh = variant.params, variant.placed("shield")
    z = mesh.bounds[0, 2] + 1.5
    seg = trimesh.intersections.mesh_plane(mesh, [0, 0, 1], [0, 0, z]).reshape(-1, 3)
    rz = to_rz(seg)
    d = device_distance(p["profile"], rz)
    inner = d < p["clearance"] + 1.0
    assert inner.sum() > 20
    assert d[inner].min() >= p["clearance"] - TOL, f"{variant.name}: skirt cuts into the device"
    assert abs(np.median(d[inner]) - p["clearance"]) <= TOL
    measured = 2 * np.median(rz[inner, 0])
    expected = 2 * grown_radius(p["profile"], p["clearance"], z)
    assert abs(measured - expected) <= 2 * TOL, f"{variant.name}: fit diameter {measured:.2f}, expected {expected:.2f}"


def test_top_rests_on_the_device_at_the_clearance(variant):
    """Vertical rays over the top: the shield never cuts into the device and rests at the clearance."""
    p, mesh = variant.params, variant.placed("shield")
    xy = disc(0.9 * p["device_d"] / 2, 2.0)
    z = lowest(mesh, xy)
    hit = ~np.isnan(z)
    d = device_distance(p["profile"], to_rz(np.column_stack([xy[hit], z[hit]])))
    assert d.min() >= p["clearance"] - TOL, f"{variant.name}: shield cuts into the device top"
    resting = np.abs(d - p["clearance"]) <= TOL
    assert resting.mean() > 0.5, f"{variant.name}: only {resting.mean():.0%} of the top sits at the clearance"


def test_cups_sit_over_the_microphone_holes(variant):
    """The opening of each cup, seen from below, is centred on its group of holes and covers them."""
    p, mesh = variant.params, variant.placed("shield")
    step = 0.4
    for i, group in enumerate(p["mic_groups"]):
        holes = np.asarray(group, float)
        centre = holes.mean(axis=0)
        half = np.abs(holes - centre).max() + 8
        gx = np.arange(centre[0] - half, centre[0] + half + 1e-9, step) + 0.0137
        gy = np.arange(centre[1] - half, centre[1] + half + 1e-9, step) + 0.0137
        z = surface_grid(mesh, gx, gy, "min")
        xx, yy = np.meshgrid(gx, gy, indexing="ij")
        d = np.full(z.shape, np.inf)
        hit = ~np.isnan(z)
        d[hit] = device_distance(p["profile"], to_rz(np.column_stack([xx[hit], yy[hit], z[hit]])))
        labels, _ = ndimage.label(d > p["clearance"] + 0.4)

        def label_at(pt):
            return labels[int(round((pt[0] - gx[0]) / step)), int(round((pt[1] - gy[0]) / step))]

        cup = label_at(centre)
        assert cup, f"{variant.name}: no cup opening over the centre of group {i}"
        for h in holes:
            assert label_at(h) == cup, f"{variant.name}: cup {i} does not cover the hole at {h}"
        mask = labels == cup
        assert not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()), (
            f"{variant.name}: cup {i}'s opening runs into something else"
        )
        measured = np.array([xx[mask].mean(), yy[mask].mean()])
        assert np.linalg.norm(measured - centre) <= 1.0, (
            f"{variant.name}: cup {i} opening centred at {measured.round(2)}, holes at {centre.round(2)}"
        )


def test_cuts_in_the_top_face_never_cross(variant):
    """Seen from above, each pocket, button well, window, grille hole and the cover's seat groove is its
    own recess in the top face: none runs into another."""
    p, mesh = variant.params, variant.placed("shield")
    step = 0.3
    r = p["device_d"] / 2
    gx = gy = np.arange(-r, r + 1e-9, step) + 0.0137
    top = surface_grid(mesh, gx, gy, "max")
    xx, yy = np.meshgrid(gx, gy, indexing="ij")
    on_face = np.hypot(xx, yy) < p["top_face_r"] - 0.5  # outside it the cap falls away
    labels, _ = ndimage.label(on_face & ~(top >= p["print_ztop"] - 0.05))  # recessed or open

    def label_at(pt):
        return labels[int(round((pt[0] - gx[0]) / step)), int(round((pt[1] - gy[0]) / step))]

    _, b, _, angle = p["cover"]
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    features = {f"pocket {i}": q for i, q in enumerate(p["pockets"])}
    features.update({f"button {b_[:2]}": b_[:2] for b_ in p["buttons"]})
    features.update({f"window {w}": np.mean(w[:2], axis=0) for w in p["windows"]})
    features.update({f"grille hole {h}": h for h in p.get("grille_holes", [])})
    features["seat groove"] = [-(b - 1) * s, (b - 1) * c]  # under the cover's long wall
    if p["ring"]:
        gap = np.radians(np.mean(p["ring"][2][:2]))  # between the first two spokes
        features["light-ring window"] = np.mean(p["ring"][:2]) * np.array([np.cos(gap), np.sin(gap)])
    seen = {}
    for name, pt in features.items():
        lab = label_at(pt)
        assert lab, f"{variant.name}: no recess at the {name}"
        assert lab not in seen, f"{variant.name}: the {name} runs into the {seen.get(lab)}"
        seen[lab] = name


def test_fingertip_reaches_every_button_and_window(variant):
    """A 16 mm fingertip lowered straight down over each free button and touch window reaches 0.5 mm
    below the device's surface there, past the shield, the cover and nothing else."""
    p = variant.params
    points = [b[:2] for b in p["buttons"]] + [
        np.asarray(w[0]) + t * (np.asarray(w[1]) - w[0]) for w in p["windows"] for t in (0, 0.5, 1)
    ]
    if not points:
        pytest.skip(f"{variant.name}: every button is under the cover ({p['covered']})")
    parts = [variant.placed("shield"), variant.placed("cover")]
    cloud = np.concatenate(
        [np.concatenate([m.vertices, trimesh.sample.sample_surface(m, 200000, seed=1)[0]]) for m in parts]
    )
    for pt in points:
        rho = np.hypot(cloud[:, 0] - pt[0], cloud[:, 1] - pt[1])
        near = rho < FINGER
        centre = (cloud[near, 2] + np.sqrt(FINGER**2 - rho[near] ** 2)).max() if near.any() else -np.inf
        target = top_z(p["profile"], np.hypot(*pt)) - PRESS
        assert centre - FINGER <= target + 0.05, (
            f"{variant.name}: a fingertip stops {centre - FINGER - target:.2f} mm short at {np.round(pt, 1)}"
        )


def test_fit_template_sits_on_the_device(variant):
    """The fit-test part never cuts into the device, and each microphone and button hole is open."""
    p, mesh = variant.params, variant.printed["fit"]
    placed = measure.to_device(mesh, 0, [0, 0], p["fit_top"])
    xy = disc(p["device_d"] / 2, 1.5)
    z = lowest(placed, xy)
    hit = ~np.isnan(z)
    d = device_distance(p["profile"], to_rz(np.column_stack([xy[hit], z[hit]])))
    assert d.min() >= p["clearance"] - TOL, f"{variant.name}: the fit template cuts into the device"
    holes = [h for g in p["mic_groups"] for h in g] + [b[:2] for b in p["buttons"]]
    assert all(len(z) == 0 for z in hits(placed, holes)), f"{variant.name}: a fit-template hole is closed"


# ---------- function: speakers, electronics, balance, walls ----------


def test_speaker_backs_are_closed_cans(variant):
    """Each pocket is closed by a can whose enclosed air (the speaker's back volume) is 2.5 cm3 or more."""
    p, can = variant.params, variant.printed["can"]
    cavity = can.convex_hull.volume - can.volume
    air_above_speaker = np.pi * p["can"][2] ** 2 * 0.6
    assert abs(cavity + air_above_speaker - p["back_volume_mm3"]) <= 0.03 * p["back_volume_mm3"]
    assert p["back_volume_mm3"] >= 2500
    shield = variant.placed("shield")
    for k, pocket in enumerate(p["pockets"]):
        placed = variant.placed("can", k)
        assert abs(placed.bounds[0, 2] - p["print_ztop"]) < 1e-4, "the can stands on the top face"
        rim = np.asarray(pocket) + (p["can"][0] - 0.8) * np.array([1.0, 0.0])
        assert highest(shield, [rim])[0] == pytest.approx(p["print_ztop"], abs=0.01), (
            f"{variant.name}: can {k}'s rim does not sit on solid top face"
        )


def test_hat_microphones_hear_the_room_through_the_roof(variant):
    """The HAT's microphones sit under open holes in the cover's roof, high above the cups."""
    p, cover = variant.params, variant.placed("cover")
    for m in p["hat_mics"]:
        assert m[2] > p["print_ztop"] + 25, "the HAT's microphones sit well above the top face"
        assert len(hits(cover, [m[:2]])[0]) == 0, f"{variant.name}: no roof hole over the HAT microphone {m}"


def test_screw_stack_fits(variant):
    """Measured on the cover: roof and boss under each screw head; the BOM's M2.5 screw then bites 3 mm
    or more into the spacer without bottoming, and the spacer studs under the Pi clear the amplifier."""
    p, cover = variant.params, variant.placed("cover")
    engagement, screw, _, hat_pcb, female_depth = p["stack"]
    can_top = p["print_ztop"] + variant.printed["can"].extents[2]
    for hole in p["pi_holes"]:
        z = hits(cover, [np.asarray(hole) + [2.2, 0.0]])[0]
        stack, boss_bottom = z[-1] - z[0], z[0]
        bite = screw - stack - hat_pcb
        assert 3 <= bite <= female_depth, f"{variant.name}: the screw bites {bite:.2f} mm into the spacer"
        assert bite == pytest.approx(engagement, abs=0.05)
        pi_bottom = boss_bottom - hat_pcb - 11 - 1.4
        assert pi_bottom - (6 - 1.4) >= can_top + 4 + 0.5, f"{variant.name}: the spacer studs hit the amplifier"


def test_centre_of_mass_lies_inside_the_gasket_footprint(variant):
    """Printed parts at 15 % infill (measured on the meshes) plus the bought parts: the centre of mass
    lies inside the convex hull of the gaskets, well away from its edge."""
    total, com = measure.assembly_mass(variant.params, variant.printed)
    margin = measure.footprint_margin(variant.params, com[:2])
    assert margin >= 10, f"{variant.name}: centre of mass {com.round(1)} only {margin:.1f} mm inside the gaskets"
    assert 60 < total < 250, f"{variant.name}: {total:.0f} g"


@pytest.mark.parametrize("part", measure.STRUCTURAL)
def test_walls_are_thick_enough(variant, part):
    """No wall of the shield, cover or cans is thinner than 1.2 mm (less the facets' 0.1 mm)."""
    thinnest = measure.thinnest_wall(variant.printed[part])
    assert thinnest >= RIB - FACETS, f"{variant.name} {part}: a wall is {thinnest:.2f} mm thick"


def test_smart_speaker_sound_has_a_way_out(variant):
    """Where the shield covers the smart speaker's own speaker, the grille is open straight through and
    the cover's long walls are open beside it."""
    p = variant.params
    if not p["grille"]:
        pytest.skip(f"{variant.name}: its speaker is not under the shield")
    shield, cover = variant.placed("shield"), variant.placed("cover")
    assert all(len(z) == 0 for z in hits(shield, p["grille_holes"])), "a grille hole is closed"
    _, b, _, angle = p["cover"]
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    for side in (-1, 1):
        wall = np.array([-side * b * s, side * b * c])
        probe = trimesh.intersections.mesh_plane(cover, [0, 0, 1], [0, 0, p["print_ztop"] + 4]).reshape(-1, 3)
        near = np.linalg.norm(probe[:, :2] - wall, axis=1) < 3
        assert not near.any(), f"{variant.name}: the cover's wall is closed beside the grille"
