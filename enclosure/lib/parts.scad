// earmuff enclosure: the printed parts, drawn in device coordinates (see geometry.scad).
//
// shield : the cap on the smart speaker. Its inner surface is the device grown by `clearance` all
//          round (room for a gasket round each cup and for print tolerance). Two cups: a channel over
//          one group of microphone holes and above it a pocket into which a speaker drops face down.
//          Button holes (countersunk for a fingertip), windows, a light-ring window, a grille over the
//          smart speaker's own speaker, a seat groove on the top face for the cover, a mark at the back.
// can    : the closed back of one speaker pocket (its back volume), glued on the top face.
// cover  : the closed, vented electronics housing over the axis; the HAT and Pi hang from its roof.
//          Roof: microphone and light holes, a flexure key over the HAT's button. Walls: power and
//          jack openings, vents, and two loops for the hold-down strap.
// gasket : TPU lip gaskets, one ring round each cup opening (instead of foam tape).
// fit    : fit-test template: the top skin with microphone and button holes only (a skeleton).
use <geometry.scad>

module stadium_2d(a, b, r) { hull() { translate(a) circle(r = r); translate(b) circle(r = r); } }

module cup_opening_2d(g, grow = 0) { stadium_2d(g[0], g[len(g) - 1], OPEN_R() + grow, $fn = 32); }

module footprint_2d(cover, grow = 0) {
    intersection() {
        rotate(cover[3]) offset(r = 3 + grow, $fn = 24) square([2 * cover[0] - 6, 2 * cover[1] - 6], center = true);
        circle(r = cover[2] + grow, $fn = 96);
    }
}

// Light-ring window: an annulus minus spokes that hold the plate's rim (angles in degrees).
module ring_window_2d(ring) {
    difference() {
        difference() { circle(r = ring[1]); circle(r = ring[0]); }
        for (a = ring[2]) rotate(a) translate([0, -ring[3] / 2]) square([ring[1] + 1, ring[3]]);
    }
}

module grille_2d(grille) {
    for (x = [grille[0] : grille[5] : grille[1] + 1e-6], y = [grille[2] : grille[5] : grille[3] + 1e-6])
        translate([x, y]) circle(d = grille[4], $fn = 16);
}

module shield(v) {
    profile = v[0]; clearance = v[1]; z_bot = v[2]; wall = v[3]; r_flat = v[4]; cups = v[5];
    pockets = v[6]; buttons = v[7]; windows = v[8]; ring = v[9]; grille = v[10]; notch = v[11];
    cover = v[12]; fn = v[14];
    z_top = shield_ztop(profile, clearance);
    r_out = shield_rout(profile, clearance, z_bot, wall);
    r_flat_ = min(r_flat, r_out);
    z_k = max(z_bot, z_top - (r_out - r_flat_));
    difference() {
        rotate_extrude($fn = fn)
            polygon([[0, z_bot], [r_out, z_bot], [r_out, z_k], [r_flat_, z_top], [0, z_top]]);
        rotate_extrude($fn = fn) intersection() {
            offset(r = clearance, $fn = 24) polygon(profile);
            translate([0, -10]) square([1000, 1000]);
        }
        for (i = [0 : len(cups) - 1]) {
            floor_z = cup_floor(profile, clearance, cups[i], pockets[i]);
            translate([0, 0, -1]) linear_extrude(floor_z + 1) cup_opening_2d(cups[i]);
            translate([pockets[i][0], pockets[i][1], floor_z]) cylinder(r = pocket_r(), h = z_top - floor_z + 1, $fn = 64);
        }
        for (b = buttons) translate([b[0], b[1], 0]) {
            translate([0, 0, -1]) cylinder(d = b[2], h = z_top + 2, $fn = 48);
            if (b[3] > 0) translate([0, 0, z_top - b[3]]) cylinder(d1 = b[2], d2 = b[2] + 2 * b[3] + 0.02, h = b[3] + 0.01, $fn = 48);
        }
        for (w = windows) translate([0, 0, -1]) linear_extrude(z_top + 2) stadium_2d(w[0], w[1], w[2], $fn = 32);
        if (len(ring) > 0) translate([0, 0, -1]) linear_extrude(z_top + 2) ring_window_2d(ring, $fn = fn);
        if (len(grille) > 0) translate([0, 0, -1]) linear_extrude(z_top + 2) grille_2d(grille);
        if (notch[1] > 0) translate([-notch[0] / 2, -r_out - 1, z_bot - 1]) cube([notch[0], r_out, notch[1] + 1]);
        // back mark: a groove 0.8 mm deep down the outside of the skirt, over the power socket
        translate([-1, -r_out - 1, z_bot - 1]) cube([2, 1.8, 7]);
        translate([0, 0, z_top - SEAT()[0]]) linear_extrude(SEAT()[0] + 1) difference() {
            footprint_2d(cover, SEAT()[1]);
            footprint_2d(cover, -COVER_WALL() - SEAT()[1]);
        }
    }
}

// One speaker's back can, standing on the shield's top face at the origin (roof up).
module can() {
    difference() {
        cylinder(r = can_r(), h = CAN()[1], $fn = 64);
        translate([0, 0, -1]) cylinder(r = pocket_r(), h = CAN()[1] - CAN()[2] + 1, $fn = 64);
        translate([pocket_r() - 3, 0, CAN()[1] - CAN()[2] - 1]) cylinder(d = 2, h = CAN()[2] + 2, $fn = 16);  // wires
    }
}

// The cover in its own frame (Pi along x, ports towards -y), its walls' feet at z = -SEAT depth.
module cover_local(cover, strap, grille_y) {
    w = COVER_WALL(); h = cover_h(); roof = h - w;
    z_pi = pi_z(); z_hat = hat_top_z();
    local = [cover[0], cover[1], cover[2], 0];
    difference() {
        union() {
            translate([0, 0, -SEAT()[0]]) linear_extrude(h + SEAT()[0]) difference() {
                footprint_2d(local); footprint_2d(local, -w);
            }
            translate([0, 0, roof]) linear_extrude(w) footprint_2d(local);
            for (p = pi_holes()) translate([p[0], p[1], z_hat]) cylinder(d = BOSS()[0], h = roof - z_hat + 0.01, $fn = 32);
            // key: a peg under the flexure tab down to just above the HAT's button
            translate([HAT_BUTTON()[0], HAT_BUTTON()[1], z_hat + HAT_BUTTON()[2] + 0.5])
                cylinder(d = 4, h = roof - z_hat - HAT_BUTTON()[2] - 0.5 + 0.01, $fn = 24);
        }
        for (p = pi_holes()) translate([p[0], p[1], z_hat - 1]) cylinder(d = 2.8, h = h, $fn = 24);
        for (m = concat(HAT_MICS(), HAT_LEDS())) translate([m[0], m[1], roof - 1]) cylinder(d = 3, h = w + 2, $fn = 24);
        // flexure: a U-shaped slot leaves a tab 8 mm wide hinged on its +x end
        translate([HAT_BUTTON()[0], HAT_BUTTON()[1], roof - 1]) linear_extrude(w + 2) difference() {
            translate([-6, -5]) square([13, 10]);
            translate([-5, -4]) square([13, 8]);
        }
        // ports side (-y): the Pi's power plug and the HAT's jack plug
        translate([PI_PWR_X() - 6, -cover[1] - 1, z_pi - 3]) cube([12, 2 * w + 2, 9]);
        translate([HAT_JACK_X() - 5, -cover[1] - 1, z_hat - 1]) cube([10, 2 * w + 2, 9]);
        // vents: vertical slots in both ends, level with the Pi and the HAT
        for (s = [-1, 1], y = [-10 : 5 : 10]) translate([s * cover[0] - 8, y - 1, z_pi - 4]) cube([16, 2, z_hat - z_pi + 4]);
        // strap loops: two slots one above the other in each long wall, point-symmetric
        for (s = [-1, 1]) rotate(s > 0 ? 0 : 180) for (z = [0.5, 0.5 + LOOP()[0] + LOOP()[1]])
            translate([strap[0] - strap[1] / 2 - 0.5, cover[1] - w - 1, z]) cube([strap[1] + 1, w + 2, LOOP()[0]]);
        // the smart speaker's own sound, from the shield's grille out through both long walls
        if (grille_y > 0) for (s = [-1, 1]) translate([-grille_y, s * cover[1] - w - 1, -SEAT()[0] - 1])
            cube([2 * grille_y, 2 * w + 2, CAN()[1] + SEAT()[0] + 1]);
    }
}

// TPU lip gasket round one cup opening, lying flat: a 0.6 mm base and a 0.8 mm lip leaning outwards at
// 45 degrees (0.2 mm steps = layers), 1.8 mm high in all; squeezed to the clearance it folds over.
module gasket(g) {
    linear_extrude(0.6) difference() { cup_opening_2d(g, 0.3 + GASKET_W()); cup_opening_2d(g, 0.3); }
    for (k = [0 : 5]) translate([0, 0, 0.6 + 0.2 * k]) linear_extrude(0.2) difference() {
        cup_opening_2d(g, 0.3 + 1.1 + 0.2 * (k + 1) + 0.8);
        cup_opening_2d(g, 0.3 + 1.1 + 0.2 * (k + 1));
    }
}

// Fit-test template: a 1 mm skeleton plate level with the shield's inner surface on the axis, with
// the microphone holes (3 mm: each microphone should appear centred in its hole), the button holes and
// the windows, on spokes out to four legs that centre it on the device at radius r_ring (the wide leg
// goes at the back). Prints in about a quarter of an hour (enclosure/stl/print.md).
module fit_test(profile, clearance, cups, buttons, windows, r_ring, fn) {
    z_p = top_z(profile, 0) + clearance;
    z_r = top_z(profile, r_ring - clearance) + clearance / 2;
    holes = concat([for (g = cups, h = g) [h[0], h[1], 3]], [for (b = buttons) [b[0], b[1], b[2]]]);
    difference() {
        union() {
            translate([0, 0, z_p]) linear_extrude(FIT_PLATE()) {
                circle(r = 5, $fn = 24);
                for (h = holes) { translate([h[0], h[1]]) circle(d = h[2] + 3, $fn = 32); stadium_2d([0, 0], [h[0], h[1]], 1.25, $fn = 12); }
                for (w = windows) { stadium_2d(w[0], w[1], w[2] + 1.5, $fn = 32); stadium_2d([0, 0], (w[0] + w[1]) / 2, 1.25, $fn = 12); }
                for (a = [0 : 90 : 270]) stadium_2d([0, 0], polar(r_ring + 0.4, a), 1.5, $fn = 12);
            }
            for (a = [0 : 90 : 270]) let(span = (a == 270 ? 20 : 10) / r_ring * 180 / PI)
                rotate(a - span / 2) translate([0, 0, z_r]) rotate_extrude(angle = span, $fn = fn)
                    translate([r_ring, 0]) square([0.8, z_p - z_r + FIT_PLATE()]);
        }
        for (h = holes) translate([h[0], h[1], z_p - 1]) cylinder(d = h[2], h = 4, $fn = 32);
        for (w = windows) translate([0, 0, z_p - 1]) linear_extrude(4) stadium_2d(w[0], w[1], w[2], $fn = 32);
    }
}
