// earmuff shield for the Amazon Echo Dot (3rd generation), the fabric-sided "puck".
// Parts and checks: lib/earmuff.scad. Render: scripts/render_enclosure.sh (every part, STLs in enclosure/stl/),
// or openscad -D 'part="shield"' -o shield.stl echo-dot-3.scad. Parts come out in print orientation;
// the numbers below are in device coordinates: device on z = 0, its axis on z, its back (power socket
// and audio jack) towards -y, x to the right.
use <lib/geometry.scad>
use <lib/earmuff.scad>

part = "assembly";  // shield, cover, can, gasket, fit, assembly, exploded or none (checks and report only)
fn = 64;            // facets on round things (the published STLs and the tests use this)

// ---- the device ----
// Diameter 99 mm, height 43 mm: "3.9 inches in diameter and 1.7 inches in height" (review,
// https://compsmagam.pages.dev/posts/amazon-echo-dot-3rd-gen-review-great-smart-speaker).
device_d = 99;
device_h = 43;
edge_r = 8;          // radius of the rounded top edge: ESTIMATED (no published figure found)
// Top: "four buttons, four microphones and an LED ring" (teardown,
// https://briandorey.com/post/echo-dot-3rd-gen-smart-speaker-teardown). Power socket and 3.5 mm jack
// on the side, low down, below the skirt (same source).
// Positions from the centre of the top: ESTIMATED (buttons in a cross, one microphone between each
// pair of buttons); no source gives coordinates. Check them with the fit-test part (docs/hardware.md).
button_r = 30;       // button centres on this circle, at 0, 90, 180 and 270 degrees
mic_r = 21;          // microphone holes on this circle, at 45, 135, 225 and 315 degrees
ring = [41, 47, [60, 150, 240, 330], 8];   // light-ring window r 41..47 mm, four spokes 8 mm wide

// ---- the shield ----
// Cup 0 (left channel) covers the two microphones on the left, cup 1 (right) the two on the right.
// The pockets sit off-centre so that the two back cans fit side by side under the cover.
cups = [[polar(mic_r, 135), polar(mic_r, 225)], [polar(mic_r, 45), polar(mic_r, -45)]];
pockets = [[-12, 3], [12, -3]];
// The cover lies along x, over the left and right buttons; the front and back buttons stay free,
// in 15 mm holes countersunk 1.8 mm so that a fingertip reaches 0.5 mm below the button's top.
buttons = [[0, button_r, 15, 1.8], [0, -button_r, 15, 1.8]];
covered = [[button_r, 0, 11], [-button_r, 0, 11]];

earmuff(variant = "echo-dot-3", profile = puck_profile(device_d, device_h, edge_r),
        device_d = device_d, device_h = device_h, clearance = 1.0, z_bot = device_h - 12, wall = 2.4,
        r_flat = 1000, cups = cups, pockets = pockets, buttons = buttons, covered = covered, windows = [],
        ring = ring, grille = [], notch = [0, 0], cover = [36, 18, 39.5, 0], strap = [22, 15],
        fit_ring = device_d / 2 + 1, part = part, fn = fn);
