// earmuff enclosure: one variant's design checks, its report and the part asked for.
// A variant file sets the device and the positions and calls earmuff(...); see geometry.scad for the
// coordinates and parts.scad for what each part is.
use <geometry.scad>
use <parts.scad>

// Parts, with how many to print and the material.
function PARTS() = [["shield", 1, "PLA or PETG"], ["cover", 1, "PLA or PETG"], ["can", 2, "PLA or PETG"],
                    ["gasket", 1, "TPU 95A (or foam tape instead)"], ["fit", 1, "PLA (fit test)"]];

// variant: name; profile: device profile; device_d, device_h: its size; clearance: gap all round;
// z_bot: lowest point of the skirt; wall: skirt thickness; r_flat: radius of the flat top face (outside
// it the cap falls at 45 degrees to the skirt); cups: two microphone-hole groups (1 or 2 [x, y] each);
// pockets: the two speaker pockets' centres; buttons: reachable buttons [x, y, hole d, countersink];
// covered: buttons under the cover [x, y, d] (reported only); windows: touch windows [[x1, y1], [x2, y2], r];
// ring: [] or light-ring window [r_in, r_out, [spoke angles], spoke width]; grille: [] or
// [x0, x1, y0, y1, hole d, pitch] over the smart speaker's own speaker; notch: [width, height] at the back
// of the skirt; cover: [half length, half width, radius, angle]; strap: [offset along the cover, width];
// fit_ring: radius of the fit test's centring ring; part: which part, in print orientation, or
// "assembly" / "exploded" / "none"; fn: facets.
module earmuff(variant, profile, device_d, device_h, clearance, z_bot, wall, r_flat, cups, pockets, buttons,
               covered, windows, ring, grille, notch, cover, strap, fit_ring, part, fn) {
    v = [profile, clearance, z_bot, wall, r_flat, cups, pockets, buttons, windows, ring, grille, notch, cover, strap, fn, covered];
    z_top = shield_ztop(profile, clearance);
    checks(v);
    report(variant, v, device_d, device_h);
    if (part == "shield") translate([0, 0, z_top]) rotate([180, 0, 0]) shield(v);
    else if (part == "cover") translate([0, 0, cover_h()]) rotate([180, 0, 0]) cover_local(cover, strap, grille_y(grille));
    else if (part == "can") translate([0, 0, CAN()[1]]) rotate([180, 0, 0]) can();
    else if (part == "gasket") for (i = [0 : 1]) let(s = cup_seg(cups[i]), d = s[1] - s[0])
        translate([0, (i - 0.5) * 26, 0]) rotate(-atan2(d[1], d[0])) translate(-mean2(s)) gasket(cups[i]);
    else if (part == "fit") translate([0, 0, fit_top(profile, clearance)]) rotate([180, 0, 0])
        fit_test(profile, clearance, cups, buttons, windows, fit_ring, fn);
    else if (part == "assembly" || part == "exploded") assembly(v, part == "exploded" ? 45 : 0);
}

function fit_top(profile, clearance) = top_z(profile, 0) + clearance + FIT_PLATE();
function grille_y(grille) = len(grille) > 0 ? (grille[3] - grille[2]) / 2 + grille[4] / 2 + 1 : 0;

module assembly(v, explode) {
    profile = v[0]; clearance = v[1]; cups = v[5]; pockets = v[6]; cover = v[12]; fn = v[14];
    z_top = shield_ztop(profile, clearance);
    color("dimgray") rotate_extrude($fn = fn) polygon(profile);
    color("orange") render() shield(v);
    for (i = [0 : 1]) {
        floor_z = cup_floor(profile, clearance, cups[i], pockets[i]);
        color("black") translate([pockets[i][0], pockets[i][1], floor_z]) cylinder(d = SPK()[0], h = SPK()[1]);
        color("royalblue") translate([pockets[i][0], pockets[i][1], z_top + explode / 2]) render() can();
    }
    color("purple") translate([pockets[0][0] - AMP()[0] / 2, pockets[0][1] - AMP()[1] / 2, z_top + CAN()[1] + explode / 2])
        cube(AMP());
    translate([0, 0, z_top + explode]) rotate(cover[3]) {
        color("green") translate([-PI_SIZE()[0] / 2, -PI_SIZE()[1] / 2, pi_z()]) cube([PI_SIZE()[0], PI_SIZE()[1], STACK()[0]]);
        color("red") translate([-PI_SIZE()[0] / 2, -PI_SIZE()[1] / 2, hat_top_z() - STACK()[2]])
            cube([PI_SIZE()[0], PI_SIZE()[1], STACK()[2]]);
        color("lightskyblue") translate([0, 0, explode / 2]) render() cover_local(cover, v[13], grille_y(v[10]));
    }
}

// ---------- design checks: the model stops with an assertion naming the feature ----------

// Cut features as capsules [a, b, r, name, kind] (a segment grown by r), in device coordinates; the
// first four are the channels and pockets of cups 0 and 1.
function capsules(v) =
    let(cups = v[5], pockets = v[6], buttons = v[7], windows = v[8], grille = v[10])
    concat([for (i = [0 : 1]) concat(cup_seg(cups[i]), [OPEN_R(), str("cup ", i, " channel"), "channel"])],
           [for (i = [0 : 1]) [pockets[i], pockets[i], pocket_r(), str("cup ", i, " pocket"), "pocket"]],
           [for (b = buttons) [[b[0], b[1]], [b[0], b[1]], b[2] / 2 + b[3], str("button at ", b), "button"]],
           [for (w = windows) [w[0], w[1], w[2], str("window ", w), "window"]],
           grille_rows(grille));
// The grille's rows of holes, each a capsule.
function grille_rows(g) = len(g) == 0 ? [] :
    [for (y = [g[2] : g[5] : g[3] + 1e-6]) [[g[0], y], [g[1], y], g[4] / 2, str("grille row at y = ", y), "grille"]];
function cap_dist(p, q) = segs_dist(p[0], p[1], q[0], q[1]) - p[2] - q[2];

module checks(v) {
    profile = v[0]; clearance = v[1]; z_bot = v[2]; wall = v[3]; r_flat = v[4]; cups = v[5];
    pockets = v[6]; buttons = v[7]; windows = v[8]; ring = v[9]; grille = v[10]; cover = v[12]; strap = v[13];
    z_top = shield_ztop(profile, clearance);
    r_out = shield_rout(profile, clearance, z_bot, wall);
    caps = capsules(v);
    seat_in = -COVER_WALL() - SEAT()[1];
    assert(len(cups) == 2 && len(pockets) == 2, "two speaker cups (two output channels)");
    for (i = [0 : 1]) {
        for (h = cups[i]) assert(norm(h) + OPEN_R() + RIB() <= r_above(profile, z_bot),
                                 str("microphone hole ", h, " is off the device top"));
        assert(seg_dist(pockets[i], cups[i][0], cups[i][len(cups[i]) - 1]) <= pocket_r() + OPEN_R() - 2,
               str("cup ", i, ": its pocket does not open onto its channel"));
        assert(sd_footprint(pockets[i], cover, seat_in) <= -(can_r() + 0.3),
               str("cup ", i, ": its back can does not fit inside the cover"));
        for (g = grille_rows(grille)) assert(cap_dist([pockets[i], pockets[i], can_r()], g) >= RIB(),
                                             str("cup ", i, ": its back can sits on the grille"));
    }
    assert(dist2(pockets[0], pockets[1]) >= 2 * can_r() + 0.5, "the two back cans overlap");
    if (len(grille) > 0) assert(grille[5] - grille[4] >= RIB(), "the grille's bars are thinner than RIB");
    // every pair of cut features keeps a wall of RIB, except a pocket with its own channel and the grille's
    // rows among themselves (its bars are checked above)
    for (i = [0 : len(caps) - 1], j = [0 : len(caps) - 1]) if (i < j) {
        own = (i < 4 && j < 4 && i % 2 == j % 2) || (caps[i][4] == "grille" && caps[j][4] == "grille");
        if (!own) assert(cap_dist(caps[i], caps[j]) >= RIB(),
                         str(caps[i][3], " and ", caps[j][3], " are ", cap_dist(caps[i], caps[j]), " mm apart, need ", RIB()));
    }
    for (c = caps) {
        if (len(ring) > 0) assert(max(norm(c[0]), norm(c[1])) + c[2] + RIB() <= ring[0]
                                  || min(norm(c[0]), norm(c[1])) - c[2] - RIB() >= ring[1],
                                  str(c[3], " runs into the light-ring window"));
        // the cover's seat groove: a feature lies inside it or outside it, never across (a channel may
        // pass under it when its top is RIB below the groove's floor)
        inside = sd_seg_max(c[0], c[1], cover, seat_in) <= -(c[2] + RIB());
        outside = sd_seg(c[0], c[1], cover, SEAT()[1]) >= c[2] + RIB();
        under = c[4] == "channel" && max([for (i = [0 : 1]) cup_floor(profile, clearance, cups[i], pockets[i])])
                                 <= z_top - SEAT()[0] - RIB();
        assert(inside || outside || under, str(c[3], " runs into the cover's seat groove"));
        assert(max(norm(c[0]), norm(c[1])) + c[2] + RIB() <= r_out - wall, str(c[3], " runs into the skirt"));
    }
    assert(cover[2] + SEAT()[1] + RIB() <= min(r_flat, r_out), "the cover hangs over the flat top face");
    if (len(ring) > 0) assert(cover[2] + SEAT()[1] + RIB() <= ring[0], "the cover sits on the light-ring window");
    // buttons and touch windows: a fingertip reaches them, clear of the cover and of the strap
    for (b = buttons) let(p = [b[0], b[1]], need = depth_at(profile, z_top, p) + PRESS()) {
        assert(finger_reach(b[2] / 2, b[3]) >= need, str("a fingertip reaches only ", finger_reach(b[2] / 2, b[3]),
               " mm into the button hole at ", b, ", need ", need));
        assert(sd_footprint(p, cover, SEAT()[1]) >= FINGER_R() + 0.5, str("the cover is in the way of the button at ", b));
        assert(strap_dist(p, cover, strap) >= b[2] / 2 + b[3] + RIB(), str("the strap runs over the button at ", b));
    }
    for (w = windows) for (t = [0 : 0.25 : 1]) let(p = w[0] + t * (w[1] - w[0])) {
        assert(finger_reach(w[2], 0) >= depth_at(profile, z_top, p) + PRESS(), str("a fingertip cannot reach through the window ", w));
        assert(sd_footprint(p, cover, SEAT()[1]) >= FINGER_R() + 0.5, str("the cover is in the way of the window ", w));
        assert(strap_dist(p, cover, strap) >= w[2] + RIB(), str("the strap runs over the window ", w));
    }
    // gaskets sit on solid surface round their cup: no hole under them
    for (i = [0 : 1], c = caps) if (c[4] != "channel" && c[4] != "pocket")
        assert(cap_dist(concat(cup_seg(cups[i]), [OPEN_R() + 0.3 + GASKET_W()]), c) >= 0.5,
               str("cup ", i, "'s gasket lies over ", c[3]));
    // inside the cover: the Pi fits, the roof holes clear the bosses, the strap loops fit the long walls
    local = [cover[0], cover[1], cover[2], 0];
    for (sx = [-1, 1], sy = [-1, 1]) assert(sd_footprint([sx * PI_SIZE()[0] / 2, sy * PI_SIZE()[1] / 2], local, -COVER_WALL()) <= -0.5,
                                            "the Pi does not fit inside the cover");
    for (m = concat(HAT_MICS(), HAT_LEDS()), p = pi_holes()) assert(dist2(m, p) >= 1.5 + BOSS()[0] / 2 + RIB(),
                                                                    str("roof hole ", m, " runs into a boss"));
    for (m = concat(HAT_MICS(), HAT_LEDS(), pi_holes())) assert(
        abs(m[0] - HAT_BUTTON()[0] - 0.5) >= 6.5 + 1.5 + RIB() || abs(m[1] - HAT_BUTTON()[1]) >= 5 + 1.5 + RIB(),
        str("roof hole ", m, " runs into the button's flexure"));
    straight = min(cover[0] - 3, sqrt(cover[2] * cover[2] - cover[1] * cover[1]));
    assert(strap[0] + strap[1] / 2 + 0.5 + RIB() <= straight, "the strap loops do not fit in the cover's long walls");
    // wall openings on the ports wall (-y) keep RIB apart: power, jack, strap loop, sound window
    openings = concat([[PI_PWR_X() - 6, PI_PWR_X() + 6, pi_z() - 3, pi_z() + 6], [HAT_JACK_X() - 5, HAT_JACK_X() + 5, hat_top_z() - 1, hat_top_z() + 8],
                       [-strap[0] - strap[1] / 2 - 0.5, -strap[0] + strap[1] / 2 + 0.5, 0.5, 0.5 + 2 * LOOP()[0] + LOOP()[1]]],
                      len(grille) > 0 ? [[-grille_y(grille), grille_y(grille), -SEAT()[0], CAN()[1]]] : []);
    for (i = [0 : len(openings) - 1], j = [0 : len(openings) - 1]) if (i < j) let(a = openings[i], b = openings[j])
        assert(a[1] + RIB() <= b[0] || b[1] + RIB() <= a[0] || a[3] + RIB() <= b[2] || b[3] + RIB() <= a[2],
               str("cover wall openings ", a, " and ", b, " run into each other"));
    // screw stack: the roof screws bite 3 mm or more into the spacers without bottoming; the spacers'
    // male threads take the Pi and its nut
    assert(screw_engagement() >= 3 && screw_engagement() <= STACK()[4], str("screw engagement ", screw_engagement(), " mm"));
    assert(STACK()[3] >= STACK()[0] + STACK()[5], "the spacers' male thread is too short for the Pi and a nut");
}

// ---------- report: one `ECHO: "EARMUFF key=value"` line each (values parse as JSON) ----------

module report(variant, v, device_d, device_h) {
    profile = v[0]; clearance = v[1]; cups = v[5]; pockets = v[6]; buttons = v[7]; windows = v[8];
    grille = v[10]; cover = v[12]; z_top = shield_ztop(profile, clearance);
    z_c = z_top + cover_h();
    c_xy = function(p) rot2(p, cover[3]);
    hat_z = z_top + hat_top_z();
    floors = [for (i = [0 : 1]) cup_floor(profile, clearance, cups[i], pockets[i])];
    echo(str("EARMUFF variant=\"", variant, "\""));
    echo(str("EARMUFF parts=", PARTS()));
    echo(str("EARMUFF device_d=", device_d));
    echo(str("EARMUFF device_h=", device_h));
    echo(str("EARMUFF clearance=", clearance));
    echo(str("EARMUFF profile=", profile));
    echo(str("EARMUFF print_ztop=", z_top));
    echo(str("EARMUFF mic_groups=", cups));
    echo(str("EARMUFF cup_centres=", [for (g = cups) mean2(g)]));
    echo(str("EARMUFF pockets=", pockets));
    echo(str("EARMUFF pocket_floors=", floors));
    echo(str("EARMUFF buttons=", buttons));
    echo(str("EARMUFF button_reach=", [for (b = buttons) [depth_at(profile, z_top, [b[0], b[1]]), finger_reach(b[2] / 2, b[3])]]));
    echo(str("EARMUFF windows=", windows));
    echo(str("EARMUFF covered=", v[15]));
    echo(str("EARMUFF ring=", v[9]));
    echo(str("EARMUFF top_face_r=", min(v[4], shield_rout(profile, clearance, v[2], v[3]))));
    echo(str("EARMUFF grille=", grille));
    echo(str("EARMUFF grille_holes=", len(grille) > 0 ? [for (x = [grille[0] : grille[5] : grille[1] + 1e-6],
                                                             y = [grille[2] : grille[5] : grille[3] + 1e-6]) [x, y]] : []));
    echo(str("EARMUFF cover=", cover));
    echo(str("EARMUFF cover_h=", cover_h()));
    echo(str("EARMUFF can=", [can_r(), CAN()[1], pocket_r()]));
    echo(str("EARMUFF back_volume_mm3=", PI * pocket_r() * pocket_r() * (CAN()[1] - CAN()[2] + SPK_GAP())));
    echo(str("EARMUFF hat_mics=", [for (m = HAT_MICS()) concat(c_xy(m), [hat_z])]));
    echo(str("EARMUFF pi_holes=", [for (p = pi_holes()) c_xy(p)]));
    echo(str("EARMUFF stack=", [screw_engagement(), STACK()[6], COVER_WALL() + BOSS()[1], STACK()[2], STACK()[4]]));
    echo(str("EARMUFF gasket_centres=", [for (g = cups, h = g) h]));
    echo(str("EARMUFF gasket_r=", OPEN_R() + 0.3 + GASKET_W()));
    // bought parts: grams (estimates except the speaker's datasheet figure) and where they sit
    echo(str("EARMUFF masses=", concat(
        [["pi", 11, concat(c_xy([0, 0]), [z_top + pi_z() + 0.7])],
         ["hat", 12, concat(c_xy([0, 0]), [hat_z - 0.8])],
         ["amplifier", 2, [pockets[0][0], pockets[0][1], z_top + CAN()[1] + AMP()[2] / 2]],
         ["spacers and screws", 8, [0, 0, z_top + (pi_z() + cover_h()) / 2]]],
        [for (i = [0 : 1]) [str("speaker ", i), 2.5, [pockets[i][0], pockets[i][1], floors[i] + SPK()[1] / 2]]])));
    echo(str("EARMUFF fit_top=", fit_top(profile, clearance)));
    // where each printed part goes, from its print orientation: device = R(angle) * (x, -y, z0 - z) + (dx, dy, 0)
    echo(str("EARMUFF placements=", concat(
        [["shield", 0, [0, 0], z_top], ["cover", cover[3], [0, 0], z_c]],
        [for (p = pockets) ["can", 0, p, z_top + CAN()[1]]])));
}
