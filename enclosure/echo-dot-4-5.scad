// earmuff shield for the Amazon Echo Dot (4th and 5th generation), the sphere.
// Render: scripts/render_enclosure.sh (or openscad -o echo-dot-4-5.stl echo-dot-4-5.scad).
// The STL comes out in print orientation (flat top face on the bed); the numbers below are in device
// coordinates: device on z = 0, its axis on z, its back (power socket) towards -y.
use <lib/earmuff.scad>

assembly = false;  // -D assembly=true draws device, shield, speakers, Pi and HAT in place (previews)
fn = 96;           // facets on round things; the tests render with fewer

// ---- the device ----
// 100 x 100 x 89 mm, the same for the 4th and 5th generation: "Dot 5 and Dot 4 are the same physical
// size at 100 x 100 x 89mm" (teardown, https://www.briandorey.com/post/echo-dot-5th-gen-smart-speaker-teardown);
// "dimensions of 100 x 100 x 89 mm" (review, https://www.gizbot.com/home-entertainment/reviews/
// amazon-echo-dot-4th-gen-smart-speaker-review-better-audio-and-improved-design-070938.html).
// Modelled as a sphere of 100 mm diameter cut flat at the bottom (an approximation of the shape).
device_d = 100;
device_h = 89;
// Four buttons on top (both sources above); the light ring is at the bottom and the power socket
// (and, on the 4th generation, the 3.5 mm jack) at the back (gizbot review), all below the shield.
// Four far-field microphones (review, https://technosports.co.in/2022/01/23/amazon-alexa-echo-dot-4th-gen/).
// Positions, measured horizontally from the top of the sphere: ESTIMATED; no source gives
// coordinates. Measure your unit and edit; the model stops with an assertion if a cup runs into
// a button.
button_r = 12;      // estimated: button centres on this circle, at 0, 90, 180 and 270 degrees
button_hole = 14;   // estimated button diameter 10 mm + finger room
mic_r = 33;         // estimated: microphone holes on this circle, at 45, 135, 225 and 315 degrees

// ---- the shield ----
clearance = 1.0;   // gap all round: 1 mm foam gasket under the cups, print tolerance elsewhere
cap_bottom = 63;   // the cap reaches down to this height (sphere centre at 39 mm)
// Cup 0 (left channel) covers the two microphones on the left, cup 1 (right) the two on the right;
// each speaker pocket moves 7.5 mm outwards to clear the side button.
cups = [[polar(mic_r, 135), polar(mic_r, 225)], [polar(mic_r, 45), polar(mic_r, -45)]];
pocket_shift = [[-7.5, 0], [7.5, 0]];

earmuff_variant(
    variant = "echo-dot-4-5",
    profile = sphere_profile(device_d, device_h),
    device_d = device_d, device_h = device_h, clearance = clearance,
    z_bot = cap_bottom, wall = 2.4, r_flat = 43,
    cups = cups, pocket_shift = pocket_shift,
    buttons = [for (a = [0 : 90 : 270]) concat(polar(button_r, a), [button_hole])],
    windows = [], ring = [], notch = [0, 0],
    spk_d = 20, spk_h = 3.5, open_r = 3, channel_h = 1.2,
    shelf = [70, 40, 4, 12], fn = fn, assembly = assembly);
