// earmuff shield for the Amazon Echo Dot (3rd generation), the fabric-sided "puck".
// Render: scripts/render_enclosure.sh (or openscad -o echo-dot-3.stl echo-dot-3.scad).
// The STL comes out in print orientation (flat top face on the bed); the numbers below are in device
// coordinates: device on z = 0, its axis on z, its back (power socket and audio jack) towards -y.
use <lib/earmuff.scad>

assembly = false;  // -D assembly=true draws device, shield, speakers, Pi and HAT in place (previews)
fn = 96;           // facets on round things; the tests render with fewer

// ---- the device ----
// Diameter 99 mm, height 43 mm: "3.9 inches in diameter and 1.7 inches in height" (review,
// https://compsmagam.pages.dev/posts/amazon-echo-dot-3rd-gen-review-great-smart-speaker).
device_d = 99;
device_h = 43;
// Radius of the rounded top edge: estimated (no published figure found).
edge_r = 8;
// Top: "four buttons, four microphones and an LED ring" (teardown,
// https://briandorey.com/post/echo-dot-3rd-gen-smart-speaker-teardown). Power socket and 3.5 mm
// jack on the side (same source), low down, below the skirt.
// Positions, measured from the centre of the top: ESTIMATED from the layout (buttons in a cross,
// one microphone between each pair of buttons); no source gives coordinates. Measure your unit
// with calipers and edit; the model stops with an assertion if a cup runs into a button.
button_r = 30;       // estimated: button centres on this circle, at 0, 90, 180 and 270 degrees
button_hole = 14;    // estimated button diameter 11 mm + finger room
mic_r = 21;          // estimated: microphone holes on this circle, at 45, 135, 225 and 315 degrees
ring = [41, 47, 4, 8];  // light ring window: r 41..47 mm (estimated), 4 spokes 8 mm wide

// ---- the shield ----
clearance = 1.0;   // gap all round: 1 mm foam gasket on top, print tolerance on the fabric side
skirt = 12;        // skirt reaches this far down the side
// Cup 0 (left channel) covers the two microphones on the left, cup 1 (right) the two on the right;
// each speaker pocket moves 3.5 mm towards the centre to clear the side button.
cups = [[polar(mic_r, 135), polar(mic_r, 225)], [polar(mic_r, 45), polar(mic_r, -45)]];
pocket_shift = [[3.5, 0], [-3.5, 0]];

earmuff_variant(
    variant = "echo-dot-3",
    profile = puck_profile(device_d, device_h, edge_r),
    device_d = device_d, device_h = device_h, clearance = clearance,
    z_bot = device_h - skirt, wall = 2.4, r_flat = 1000,
    cups = cups, pocket_shift = pocket_shift,
    buttons = [for (a = [0 : 90 : 270]) concat(polar(button_r, a), [button_hole])],
    windows = [], ring = ring, notch = [0, 0],
    spk_d = 20, spk_h = 3.5, open_r = 3, channel_h = 1.2,
    shelf = [70, 40, 4, 8], fn = fn, assembly = assembly);
