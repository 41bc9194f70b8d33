// earmuff enclosure: numbers and functions shared by the parts and the checks (no geometry drawn here).
//
// Coordinates (millimetres): the smart speaker stands on z = 0 with its axis on the z axis; its back
// (power socket) faces -y. A device is described by its profile: a polygon in the (r, z) half-plane
// that starts at the top of the axis, (0, height), runs outwards along the top surface, down the side
// and back to (0, 0). rotate_extrude() of it is the device body.

// ---------- fixed design numbers ----------

function RIB() = 1.2;            // minimum wall between any two cut features, and printed walls
function FINGER_R() = 8;         // fingertip radius (16 mm wide) for the reach check
function PRESS() = 0.5;          // a button must be reachable this far below its surface (travel)
function SPK() = [20, 3.5];      // speaker: diameter, greatest thickness (20 x 3.1 mm handset type fits)
function SPK_GAP() = 0.6;        // speaker pocket: diameter = speaker + this, and air above its back
function OPEN_R() = 3;           // channel radius round each microphone hole
function CHANNEL_H() = 1.2;      // channel depth over the highest point of the device under a cup
function GASKET_W() = 3;         // gasket ring width round a cup opening
function CAN() = [1.6, 9, 1.2];  // speaker back can: wall, height, roof
function COVER_WALL() = 2;       // electronics cover: wall and roof thickness
function SEAT() = [1.5, 0.25];   // cover seat groove in the shield's top face: depth, gap each side
function BOSS() = [6, 8];        // cover roof bosses: outer diameter, height (room for the HAT's top parts)
function AMP() = [21, 18, 4];    // PAM8403 module taped on cup 0's can: x, y, height (with pins)
function LOOP() = [3, 4];        // strap loop in the cover wall: slot height, bar height between slots
function FIT_PLATE() = 1;        // fit test: plate thickness

// Raspberry Pi Zero 2 W and the pHAT on it: 65 x 30 mm, M2.5 holes 3.5 mm from the edges, 58 x 23 mm
// apart; power micro-USB 54 mm from the left edge on the long edge opposite the 40-pin header
// (Raspberry Pi Zero 2 W mechanical drawing). Cover frame: Pi centre at the origin, x along its length,
// ports edge towards -y.
function PI_SIZE() = [65, 30];
function pi_holes() = [for (sx = [-1, 1], sy = [-1, 1]) [sx * 29, sy * 11.5]];
function PI_PWR_X() = -32.5 + 54;
// On the ReSpeaker 2-Mics HAT (ESTIMATED positions, no drawing with coordinates found): microphones
// near both ends, three APA102 LEDs in a row in the middle, the user button near one end, the 3.5 mm
// jack on the long edge over the Pi's ports.
function HAT_MICS() = [[-29, 0], [29, 0]];
function HAT_LEDS() = [[-7, 2], [0, 2], [7, 2]];
function HAT_BUTTON() = [16, -7, 2.5];   // x, y, height of the switch top above the HAT
function HAT_JACK_X() = -12;

// Screw stack (BOM): M2.5 x 11 mm male-female spacers (6 mm male thread, female thread at least 5 mm
// deep), M2.5 nuts 2 mm thick, M2.5 x 16 mm screws down through the cover roof and its bosses.
function STACK() = [1.4, 11, 1.6, 6, 5, 2, 16];   // Pi PCB, spacer, HAT PCB, male thread, female depth, nut, screw
function screw_engagement() = STACK()[6] - COVER_WALL() - BOSS()[1] - STACK()[2];
function stub_below_pi() = STACK()[3] - STACK()[0];

// Heights inside the cover, from the shield's top face: the cans, the amplifier on one, the spacer
// studs under the Pi (1 mm over the amplifier), the Pi, the HAT, the bosses and the roof.
function pi_z() = CAN()[1] + AMP()[2] + 1 + stub_below_pi();
function hat_top_z() = pi_z() + STACK()[0] + STACK()[1] + STACK()[2];
function cover_h() = hat_top_z() + BOSS()[1] + COVER_WALL();

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

// Largest radius of the profile at or above height z (its corners, and its edges where they cross z).
function r_above(p, z) = max(concat([for (q = p) if (q[1] >= z) q[0]],
    [for (i = [0 : len(p) - 2]) let(a = p[i], b = p[i + 1]) if ((a[1] - z) * (b[1] - z) < 0)
        a[0] + (b[0] - a[0]) * (z - a[1]) / (b[1] - a[1])]));

// ---------- small helpers ----------

function vsum(v, i = 0) = i >= len(v) ? 0 : v[i] + vsum(v, i + 1);
function mean2(pts) = [vsum([for (q = pts) q[0]]) / len(pts), vsum([for (q = pts) q[1]]) / len(pts)];
function dist2(a, b) = norm([a[0] - b[0], a[1] - b[1]]);
function polar(r, a) = [r * cos(a), r * sin(a)];
function rot2(p, a) = [p[0] * cos(a) - p[1] * sin(a), p[0] * sin(a) + p[1] * cos(a)];
// Distance from point p to the segment a-b (2D).
function seg_dist(p, a, b) =
    let(ab = b - a, t = (ab * ab) < 1e-12 ? 0 : max(0, min(1, ((p - a) * ab) / (ab * ab))))
    dist2(p, a + t * ab);
// Distance between segments a-b and c-d (0 where they cross).
function cross2(u, v) = u[0] * v[1] - u[1] * v[0];
function segs_cross(a, b, c, d) = cross2(b - a, c - a) * cross2(b - a, d - a) < 0 && cross2(d - c, a - c) * cross2(d - c, b - c) < 0;
function segs_dist(a, b, c, d) = segs_cross(a, b, c, d) ? 0 :
    min(seg_dist(a, c, d), seg_dist(b, c, d), seg_dist(c, a, b), seg_dist(d, a, b));

// ---------- shield numbers ----------

function shield_ztop(profile, clearance) = top_z(profile, 0) + clearance + CHANNEL_H() + SPK()[1] + SPK_GAP();
function shield_rout(profile, clearance, z_bot, wall) = r_above(profile, z_bot) + clearance + wall;
function pocket_r() = (SPK()[0] + SPK_GAP()) / 2;
function can_r() = pocket_r() + CAN()[0];
// Height of a cup's pocket floor: CHANNEL_H above the highest point of the grown device under the cup.
function cup_floor(profile, clearance, holes, pocket) =
    let(r_min = max(0, min(norm(pocket) - pocket_r(), min([for (h = holes) norm(h)]) - OPEN_R()) - clearance))
    top_z(profile, r_min) + clearance + CHANNEL_H();
// Cup opening as a segment list: first and last hole (groups here are one or two holes).
function cup_seg(g) = [g[0], g[len(g) - 1]];
// Depth from the shield's top face down to the device at (x, y).
function depth_at(profile, z_top, p) = z_top - top_z(profile, norm(p));

// How far below the top face a fingertip (sphere of FINGER_R) reaches in a hole of half-width a with a
// 45-degree countersink cs deep: the sphere rests on the highest point of the hole's edge profile.
function finger_reach(a, cs) =
    a >= FINGER_R() ? 1e9 :
    let(R = FINGER_R(),
        pts = concat([for (i = [0 : 20]) [a + cs * i / 20, -cs + cs * i / 20]],
                     [for (x = [a + cs : 0.25 : R]) [x, 0]]),
        h = max([for (q = pts) if (q[0] < R) q[1] + sqrt(R * R - q[0] * q[0])]))
    R - h;

// ---------- cover footprint: rounded rectangle (half-sizes a, b, corner radius 3) cut by a circle ----------

function sd_footprint(p, cover, grow = 0) =
    let(q = rot2(p, -cover[3]), rc = 3,
        d = [abs(q[0]) - (cover[0] - rc), abs(q[1]) - (cover[1] - rc)],
        rr = norm([max(d[0], 0), max(d[1], 0)]) + min(max(d[0], d[1]), 0) - rc)
    max(rr, norm(p) - cover[2]) - grow;
// Smallest signed distance from a segment's points to the footprint (negative: inside).
function sd_seg(a, b, cover, grow = 0) = min([for (t = [0 : 0.05 : 1]) sd_footprint(a + t * (b - a), cover, grow)]);
// Greatest signed distance (the point deepest outside) along a segment.
function sd_seg_max(a, b, cover, grow = 0) = max([for (t = [0 : 0.05 : 1]) sd_footprint(a + t * (b - a), cover, grow)]);
// Distance from a point (device frame) to the strap bands: from the cover walls outwards at +-strap[0].
function strap_dist(p, cover, strap) =
    min([for (s = [1, -1]) let(q = s * rot2(p, -cover[3]),
        dx = max(0, abs(q[0] - strap[0]) - strap[1] / 2), dy = max(0, cover[1] - q[1])) norm([dx, dy])]);
