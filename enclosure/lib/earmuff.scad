// earmuff shield: shared modules and functions. Draws nothing by itself: `use <lib/earmuff.scad>`.
//
// Coordinates (millimetres): the smart speaker stands on z = 0 with its axis on the z axis; its back
// (power socket) faces -y. A device is described by its profile: a polygon in the (r, z) half-plane
// that starts at the top of the axis, (0, height), runs outwards along the top surface (r increasing),
// down the side and back to (0, 0). rotate_extrude() of it is the device body.
//
// The shield is one printed part: a cap whose inner surface is the device body grown by `clearance`
// all round (room for a 1 mm foam gasket on top and for print tolerance on the sides), a flat top
// face (printed on the bed, upside down, so nothing needs supports), two speaker cups, holes over
// the device's buttons and windows over its lights, a shelf behind it for the Raspberry Pi and the
// audio HAT, grooves on the top face for the speaker wires and a notch at the back for cables.
//
// A speaker cup: a channel cut into the inner surface that covers one group of microphone holes
// (the hull of circles of radius `open_r` round each hole), and above it a round pocket, open to
// the top face, into which the speaker drops face down; the pocket floor holds the speaker's rim
// and the channel carries its sound to the holes. Close the pocket's top with tape or glue after
// wiring. The cup's opening on the device (the channel) is centred on the mean of its holes; the
// pocket may be shifted (pocket_shift) to keep clear of a button.

// ---------- device profiles ----------

// Cylinder of diameter d and height h with its top edge rounded by radius e.
function puck_profile(d, h, e, n = 12) = concat(
    [[0, h]],
    [for (i = [0 : n]) let(a = 90 - 90 * i / n) [d / 2 - e + e * cos(a), h - e + e * sin(a)]],
    [[d / 2, 0], [0, 0]]);

// Vertical band of height h_side topped by a half-ellipse dome that reaches height h.
function dome_profile(d, h, h_side, n = 24) = concat(
    [for (i = [0 : n]) let(a = 90 - 90 * i / n) [d / 2 * cos(a), h_side + (h - h_side) * sin(a)]],
    [[d / 2, 0], [0, 0]]);

// Sphere of diameter d cut flat at the bottom so that it is h high.
function sphere_profile(d, h, n = 48) =
    let(R = d / 2, zc = h - R, a0 = asin(-zc / R))
    concat([for (i = [0 : n]) let(a = 90 - (90 - a0) * i / n) [R * cos(a), zc + R * sin(a)]],
           [[0, 0]]);

// Height of the device's top surface at radius r (linear along the profile's top polyline).
function top_z(p, r, i = 0) =
    i >= len(p) - 1 ? p[len(p) - 1][1] :
    p[i + 1][0] >= r ?
        (p[i + 1][0] - p[i][0] < 1e-9 ? max(p[i][1], p[i + 1][1])
         : p[i][1] + (p[i + 1][1] - p[i][1]) * (r - p[i][0]) / (p[i + 1][0] - p[i][0]))
    : top_z(p, r, i + 1);

// Largest radius of the profile at or above height z.
function r_above(p, z) = max([for (q = p) if (q[1] >= z) q[0]]);

// ---------- small helpers ----------

function vsum(v, i = 0) = i >= len(v) ? 0 : v[i] + vsum(v, i + 1);
function mean2(pts) = [vsum([for (q = pts) q[0]]) / len(pts), vsum([for (q = pts) q[1]]) / len(pts)];
function dist2(a, b) = norm([a[0] - b[0], a[1] - b[1]]);
function polar(r, a) = [r * cos(a), r * sin(a)];

// Raspberry Pi Zero 2 W and the pHAT on it: 65 x 30 mm, M2.5 holes 3.5 mm from the edges,
// 58 x 23 mm apart (Raspberry Pi Zero 2 W mechanical drawing).
function pi_size() = [65, 30];
function pi_holes(c) = [for (sx = [-1, 1], sy = [-1, 1]) [c[0] + sx * 29, c[1] + sy * 11.5]];

// Stack heights above the shelf: M2.5 x 5 mm spacers, Pi PCB 1.4 mm, M2.5 x 11 mm spacers (the
// 2 x 20 header), HAT PCB 1.6 mm; the HAT's microphones sit on its top face.
function hat_top_above_shelf() = 5 + 1.4 + 11 + 1.6;

// Shield geometry derived from the parameters (kept in one place for the model and the report).
function shield_ztop(profile, clearance, channel_h, spk_h) =
    top_z(profile, 0) + clearance + channel_h + spk_h + 0.6;
function shield_rout(profile, clearance, z_bot, wall) = r_above(profile, z_bot) + clearance + wall;
function pi_centre(r_out, shelf) = [0, -r_out - shelf[1] + 3 + pi_size()[1] / 2];
// Height of a cup's pocket floor: `channel_h` above the highest point of the grown device under the
// cup, so that the air in front of the speaker stays small on a domed or spherical top too.
function cup_floor(profile, clearance, channel_h, holes, pocket, spk_d, open_r) =
    let(r_min = max(0, min(norm(pocket) - (spk_d + 0.6) / 2, min([for (h = holes) norm(h)]) - open_r) - clearance))
    top_z(profile, r_min) + clearance + channel_h;
// 45-degree countersink (mm) on a button hole [x, y, d]: up to 3 mm, less where a pocket is near.
function countersink(b, pockets, pocket_r, rib) =
    max(0, min(3, min([for (p = pockets) dist2(p, b) - pocket_r - b[2] / 2 - rib])));
// Distance from point p to the segment a-b (2D).
function seg_dist(p, a, b) =
    let(ab = b - a, t = (ab * ab) < 1e-12 ? 0 : max(0, min(1, ((p - a) * ab) / (ab * ab))))
    dist2(p, a + t * ab);

// ---------- 2D outlines ----------

module cup_opening_2d(holes, open_r) {
    hull() for (h = holes) translate(h) circle(r = open_r);
}

module stadium_2d(a, b, r) {
    hull() { translate(a) circle(r = r); translate(b) circle(r = r); }
}

// Windows over a light ring: an annulus minus radial spokes that hold the plate's rim.
module ring_window_2d(r_in, r_out, spokes, spoke_w) {
    difference() {
        difference() { circle(r = r_out); circle(r = r_in); }
        for (i = [0 : spokes - 1]) rotate(360 * i / spokes)
            translate([0, -spoke_w / 2]) square([r_out + 1, spoke_w]);
    }
}

// ---------- the variant: checks, report, part or assembly view ----------

// variant: name; profile: device profile; device_d, device_h: its size; clearance: gap all round;
// z_bot: lowest point of the skirt; wall: skirt thickness there;
// r_flat: radius of the flat top face; outside it the cap falls at 45 degrees to the skirt (prints
//         without supports upside down); a large value gives a plain cylinder;
// cups: list of microphone-hole groups, each a list of [x, y]; pocket_shift: per cup [dx, dy];
// buttons: list of [x, y, hole diameter]; windows: list of [[x1, y1], [x2, y2], radius] stadiums;
// ring: [] or [r_in, r_out, spokes, spoke_width]; notch: [width, height] at the back of the skirt;
// spk_d, spk_h: speaker diameter and thickness; open_r: channel radius round each hole;
// channel_h: channel depth at the highest point of the device; shelf: [width, reach behind the
// skirt, thickness, overlap into the top]; assembly: draw the device, shield, speakers, Pi and HAT.
module earmuff_variant(variant, profile, device_d, device_h, clearance, z_bot, wall, r_flat, cups,
                       pocket_shift, buttons, windows, ring, notch, spk_d, spk_h, open_r, channel_h,
                       shelf, fn, assembly = false) {
    z_top = shield_ztop(profile, clearance, channel_h, spk_h);
    r_out = shield_rout(profile, clearance, z_bot, wall);
    pi_c = pi_centre(r_out, shelf);
    hat_z = z_top + hat_top_above_shelf();
    // the HAT's two microphones, "on both sides of the board" (Seeed wiki): near its ends, estimated
    hat_mics = [[pi_c[0] - 29, pi_c[1], hat_z], [pi_c[0] + 29, pi_c[1], hat_z]];
    rib = 1.2;
    pockets = [for (i = [0 : len(cups) - 1]) mean2(cups[i]) + pocket_shift[i]];
    // design rules: nothing cut may run into anything else
    assert(len(cups) == 2, "two speaker cups (two output channels)");
    for (i = [0 : len(cups) - 1], b = buttons) {
        assert(dist2(pockets[i], b) >= (spk_d + 0.6) / 2 + b[2] / 2 + rib,
               str("cup ", i, ": speaker pocket runs into the button hole at ", b));
        for (h = concat(cups[i], [mean2(cups[i])]))
            assert(dist2(h, b) >= open_r + b[2] / 2 + rib, str("cup ", i, ": channel runs into the button at ", b));
    }
    for (i = [0 : len(cups) - 1], w = windows) {
        assert(seg_dist(pockets[i], w[0], w[1]) >= (spk_d + 0.6) / 2 + w[2] + rib,
               str("cup ", i, ": speaker pocket runs into the window ", w));
        for (h = concat(cups[i], [mean2(cups[i])]))
            assert(seg_dist(h, w[0], w[1]) >= open_r + w[2] + rib, str("cup ", i, ": channel runs into the window ", w));
    }
    assert(dist2(pockets[0], pockets[1]) >= spk_d + 0.6 + rib, "speaker pockets overlap");
    for (i = [0 : len(cups) - 1], j = [0 : len(cups) - 1], a = cups[j], b = cups[j]) if (i != j)
        assert(seg_dist(pockets[i], a, b) >= (spk_d + 0.6) / 2 + open_r + rib,
               str("speaker pocket ", i, " runs into cup ", j, "'s channel"));
    for (i = [0 : len(cups) - 1], h = cups[i]) assert(norm(h) + open_r + rib <= r_above(profile, z_bot),
                                                   str("microphone hole ", h, " is off the device top"));

    report(variant, profile, device_d, device_h, clearance, cups, z_top, hat_mics, buttons);

    if (assembly) {
        color("dimgray") rotate_extrude($fn = fn) polygon(profile);
        color("orange", 0.85) shield(profile, clearance, z_bot, r_out, r_flat, cups, pockets, buttons,
                                     windows, ring, notch, spk_d, spk_h, open_r, channel_h, shelf, pi_c, z_top, fn);
        for (i = [0 : len(cups) - 1]) color("black")
            translate([pockets[i][0], pockets[i][1], cup_floor(profile, clearance, channel_h, cups[i], pockets[i], spk_d, open_r)])
                cylinder(d = spk_d, h = spk_h);
        color("green") translate([pi_c[0] - 32.5, pi_c[1] - 15, z_top + 5]) cube([65, 30, 1.4]);
        color("red") translate([pi_c[0] - 32.5, pi_c[1] - 15, hat_z - 1.6]) cube([65, 30, 1.6]);
        for (m = hat_mics) color("white") translate(m) cylinder(d = 4, h = 1, $fn = 16);
    } else {
        // print orientation: flat top face down on the bed
        translate([0, 0, z_top]) rotate([180, 0, 0])
            shield(profile, clearance, z_bot, r_out, r_flat, cups, pockets, buttons, windows, ring, notch,
                   spk_d, spk_h, open_r, channel_h, shelf, pi_c, z_top, fn);
    }
}

module shield(profile, clearance, z_bot, r_out, r_flat, cups, pockets, buttons, windows, ring, notch,
              spk_d, spk_h, open_r, channel_h, shelf, pi_c, z_top, fn) {
    r_flat_ = min(r_flat, r_out);
    z_k = max(z_bot, z_top - (r_out - r_flat_));
    difference() {
        union() {
            rotate_extrude($fn = fn)
                polygon([[0, z_bot], [r_out, z_bot], [r_out, z_k], [r_flat_, z_top], [0, z_top]]);
            // shelf for the Pi and HAT: a plate in the plane of the top face, reaching behind
            translate([-shelf[0] / 2, -r_out - shelf[1], z_top - shelf[2]])
                cube([shelf[0], shelf[1] + shelf[3], shelf[2]]);
        }
        // the device, grown by the clearance
        rotate_extrude($fn = fn) intersection() {
            offset(r = clearance, $fn = 24) polygon(profile);
            translate([0, -10]) square([1000, 1000]);
        }
        for (i = [0 : len(cups) - 1]) {
            floor_z = cup_floor(profile, clearance, channel_h, cups[i], pockets[i], spk_d, open_r);
            // channel over the microphone holes, up to the pocket floor
            translate([0, 0, -1]) linear_extrude(floor_z + 1) cup_opening_2d(cups[i], open_r, $fn = 32);
            // speaker pocket, open to the top face
            translate([pockets[i][0], pockets[i][1], floor_z])
                cylinder(d = spk_d + 0.6, h = z_top - floor_z + 1, $fn = 64);
            // wire groove from the pocket to the cable slot
            translate([0, 0, z_top - 1.5]) linear_extrude(2)
                stadium_2d(pockets[i], [pi_c[0] + (i == 0 ? -10 : 10), -r_out - 3.5], 1.5, $fn = 16);
        }
        // cable slot through the shelf, between the skirt and the Pi: speaker wires and the audio
        // cable go down to the amplifier stuck under the shelf
        translate([0, 0, z_top - shelf[2] - 1]) linear_extrude(shelf[2] + 2)
            stadium_2d([pi_c[0] - 14, -r_out - 3.5], [pi_c[0] + 14, -r_out - 3.5], 2, $fn = 16);
        // button holes, countersunk at 45 degrees for a fingertip where there is room
        for (b = buttons) translate([b[0], b[1], 0]) {
            cs = countersink(b, pockets, (spk_d + 0.6) / 2, 1.2);
            translate([0, 0, -1]) cylinder(d = b[2], h = z_top + 2, $fn = 48);
            if (cs > 0.2) translate([0, 0, z_top - cs]) cylinder(d1 = b[2], d2 = b[2] + 2 * cs + 0.02, h = cs + 0.01, $fn = 48);
        }
        for (w = windows) translate([0, 0, -1]) linear_extrude(z_top + 2) stadium_2d(w[0], w[1], w[2], $fn = 32);
        if (len(ring) > 0) translate([0, 0, -1]) linear_extrude(z_top + 2)
            ring_window_2d(ring[0], ring[1], ring[2], ring[3], $fn = fn);
        // notch at the back of the skirt: power socket, switch, cables
        if (notch[1] > 0) translate([-notch[0] / 2, -r_out - 1, z_bot - 1]) cube([notch[0], r_out, notch[1] + 1]);
        // Pi mounting holes (M2.5 clearance) through the shelf
        for (h = pi_holes(pi_c)) translate([h[0], h[1], z_top - shelf[2] - 1]) cylinder(d = 2.8, h = shelf[2] + 2, $fn = 24);
    }
}

// Numbers for tests and people: one `ECHO: "EARMUFF key=value"` line each; values are numbers,
// strings or OpenSCAD lists (which parse as JSON). Device coordinates (before the print flip).
module report(variant, profile, device_d, device_h, clearance, cups, z_top, hat_mics, buttons) {
    echo(str("EARMUFF variant=", variant));
    echo(str("EARMUFF parts=", 1));
    echo(str("EARMUFF device_d=", device_d));
    echo(str("EARMUFF device_h=", device_h));
    echo(str("EARMUFF clearance=", clearance));
    echo(str("EARMUFF fit_d=", device_d + 2 * clearance));
    echo(str("EARMUFF fit_h=", device_h + clearance));
    echo(str("EARMUFF mic_groups=", cups));
    echo(str("EARMUFF cup_centres=", [for (g = cups) mean2(g)]));
    echo(str("EARMUFF buttons=", buttons));
    echo(str("EARMUFF hat_mics=", hat_mics));
    echo(str("EARMUFF print_ztop=", z_top));
    echo(str("EARMUFF profile=", profile));
}
