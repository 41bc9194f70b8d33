// earmuff shield for the Amazon Echo Dot (4th and 5th generation), the sphere.
// Parts and checks: lib/earmuff.scad. Render: scripts/render_enclosure.sh (every part, STLs in enclosure/stl/),
// or openscad -D 'part="shield"' -o shield.stl echo-dot-4-5.scad. Parts come out in print orientation;
// the numbers below are in device coordinates: device on z = 0, its axis on z, its back (power socket)
// towards -y, x to the right.
use <lib/geometry.scad>
use <lib/earmuff.scad>

part = "assembly";  // shield, cover, can, gasket, fit, assembly, exploded or none (checks and report only)
fn = 64;            // facets on round things (the published STLs and the tests use this)

// ---- the device ----
// 100 x 100 x 89 mm, the same for the 4th and 5th generation: "Dot 5 and Dot 4 are the same physical
// size at 100 x 100 x 89mm" (teardown, https://www.briandorey.com/post/echo-dot-5th-gen-smart-speaker-teardown);
// "dimensions of 100 x 100 x 89 mm" (review, https://www.gizbot.com/home-entertainment/reviews/
// amazon-echo-dot-4th-gen-smart-speaker-review-better-audio-and-improved-design-070938.html).
// Modelled as a sphere of 100 mm diameter cut flat at the bottom (an approximation of the shape).
device_d = 100;
device_h = 89;
// Four buttons on top (both sources above); the light ring is at the bottom and the power socket at
// the back (gizbot review), all below the shield. Four far-field microphones (review,
// https://technosports.co.in/2022/01/23/amazon-alexa-echo-dot-4th-gen/), under the fabric.
// Positions, measured horizontally from the top of the sphere: ESTIMATED; no source gives
// coordinates. Find yours with the fit-test part (docs/hardware.md) and edit.
button_r = 12;      // button centres on this circle, at 0, 90, 180 and 270 degrees
mic_r = 33;         // microphone holes on this circle, at 45, 135, 225 and 315 degrees

// ---- the shield ----
// Cup 0 (left channel) covers the two microphones on the left, cup 1 (right) the two on the right.
// The cover sits over the axis (balance), so all four buttons are under it: lift the shield to use them.
cups = [[polar(mic_r, 135), polar(mic_r, 225)], [polar(mic_r, 45), polar(mic_r, -45)]];
pockets = [[-23.3, 0], [23.3, 0]];
covered = [for (a = [0 : 90 : 270]) concat(polar(button_r, a), [10])];

earmuff(variant = "echo-dot-4-5", profile = sphere_profile(device_d, device_h),
        device_d = device_d, device_h = device_h, clearance = 1.0, z_bot = 63, wall = 2.4,
        r_flat = 43, cups = cups, pockets = pockets, buttons = [], covered = covered, windows = [],
        ring = [], grille = [], notch = [0, 0], cover = [38, 18, 41.5, 0], strap = [24, 15],
        fit_ring = 40, part = part, fn = fn);
