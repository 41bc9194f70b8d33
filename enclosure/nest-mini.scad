// earmuff shield for the Google Nest Mini (2nd generation) and Google Home Mini (1st generation).
// Parts and checks: lib/earmuff.scad. Render: scripts/render_enclosure.sh (every part, STLs in enclosure/stl/),
// or openscad -D 'part="shield"' -o shield.stl nest-mini.scad. Parts come out in print orientation;
// the numbers below are in device coordinates: device on z = 0, its axis on z, its back (power socket,
// mute switch) towards -y, x to the right.
use <lib/geometry.scad>
use <lib/earmuff.scad>

part = "assembly";  // shield, cover, can, gasket, fit, assembly, exploded or none (checks and report only)
fn = 64;            // facets on round things (the published STLs and the tests use this)

// ---- the device ----
// Home Mini: "98mm diameter x 42mm height" (review, https://www.pocket-lint.com/smart-home/reviews/
// google/142470-google-home-mini-review-great-voice-assistant-not-so-great-speaker); "3.85 in in
// diameter and 1.65 in in height" (teardown, https://www.allaboutcircuits.com/news/teardown-tuesday-google-home-mini/).
// Nest Mini: same size and shape, "staying true to the Home Mini's size and shape" (Variety,
// https://variety.com/2019/digital/news/google-nest-mini-stereo-machine-learning-1203370768/).
device_d = 98;
device_h = 42;
band_h = 14;         // vertical band under the dome: ESTIMATED
// Microphones: Home Mini two, "placed on opposite ends of the PCB" (teardown,
// https://justlv.medium.com/google-home-mini-teardown-comparison-to-echo-dot-and-giving-technology-a-voice-c59a23724a26);
// Nest Mini "one more far-field mic than the two previously" (Engadget,
// https://www.engadget.com/2019/10/15/google-nest-mini-smart-speaker-hands-on-audio-software-price-specs-availability/).
// Its speaker fires upwards through the top fabric; four LEDs under the fabric at the top; touching
// either side of the top changes the volume (pocket-lint review above). Power socket and mute switch
// at the back, low down.
// Positions from the centre of the top: ESTIMATED, under the fabric; find yours with the fit-test part
// (docs/hardware.md). Home Mini: drop the third microphone and give cup 1 the right-hand one.
mic_front_left = [-22, 22];
mic_front_right = [22, 22];
mic_back = [0, -27];          // Nest Mini only
// Volume touch areas, left and right: windows 18 mm wide, so that a fingertip reaches the fabric.
touch = [[[-33, -8], [-33, 8], 9], [[33, -8], [33, 8], 9]];

// ---- the shield ----
// Cup 0 (left channel) covers the two front microphones, cup 1 (right channel) the back one. The cover
// lies front to back over the LEDs; the speaker plays through a grille in the top face between the cans
// and out through windows in both long walls of the cover.
cups = [[mic_front_left, mic_front_right], [mic_back]];
pockets = [[0, 20], [0, -20]];
covered = [[-14, 0, 14], [14, 0, 14]];   // the LED row and the middle touch area

earmuff(variant = "nest-mini", profile = dome_profile(device_d, device_h, band_h),
        device_d = device_d, device_h = device_h, clearance = 1.0, z_bot = band_h - 6, wall = 2.4,
        r_flat = 44, cups = cups, pockets = pockets, buttons = [], covered = covered, windows = touch,
        ring = [], grille = [-12, 12, -4, 4, 2.5, 4], notch = [40, 12], cover = [40, 18, 42, 90],
        strap = [27.5, 15], fit_ring = 44, part = part, fn = fn);
