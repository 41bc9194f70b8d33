// earmuff shield for the Google Nest Mini (2nd generation) and Google Home Mini (1st generation).
// Render: scripts/render_enclosure.sh (or openscad -o nest-mini.stl nest-mini.scad).
// The STL comes out in print orientation (flat top face on the bed); the numbers below are in device
// coordinates: device on z = 0, its axis on z, its back (power socket, mute switch) towards -y.
use <lib/earmuff.scad>

assembly = false;  // -D assembly=true draws device, shield, speakers, Pi and HAT in place (previews)
fn = 96;           // facets on round things; the tests render with fewer

// ---- the device ----
// Home Mini: "98mm diameter x 42mm height" (review, https://www.pocket-lint.com/smart-home/reviews/
// google/142470-google-home-mini-review-great-voice-assistant-not-so-great-speaker); "3.85 in in
// diameter and 1.65 in in height" (teardown, https://www.allaboutcircuits.com/news/teardown-tuesday-google-home-mini/).
// Nest Mini: same size and shape, "staying true to the Home Mini's size and shape" (Variety,
// https://variety.com/2019/digital/news/google-nest-mini-stereo-machine-learning-1203370768/).
device_d = 98;
device_h = 42;
// Shape: a vertical band at the bottom topped by a flattened dome. Band height: estimated.
band_h = 14;
// Microphones: Home Mini two, "placed on opposite ends of the PCB" (teardown,
// https://justlv.medium.com/google-home-mini-teardown-comparison-to-echo-dot-and-giving-technology-a-voice-c59a23724a26);
// Nest Mini "one more far-field mic than the two previously" (Engadget,
// https://www.engadget.com/2019/10/15/google-nest-mini-smart-speaker-hands-on-audio-software-price-specs-availability/).
// Four LEDs under the fabric at the top; touching either side of the top changes the volume
// (pocket-lint review above). Power socket and mute switch at the back, low down.
// Positions, measured horizontally from the centre of the top: ESTIMATED; no source gives
// coordinates. Measure your unit and edit (Home Mini: drop the third microphone and give cup 1
// the right-hand one); the model stops with an assertion if a cup runs into a window.
mic_front_left = [-22, 22];   // estimated
mic_front_right = [22, 22];   // estimated
mic_back = [0, -27];          // estimated (Nest Mini only)
led_window = [[-14, 0], [14, 0], 7];     // stadium over the LED row and the middle touch area (estimated)
touch_left = [[-33, -8], [-33, 8], 6];   // volume touch areas (estimated)
touch_right = [[33, -8], [33, 8], 6];

// ---- the shield ----
clearance = 1.0;   // gap all round: 1 mm foam gasket under the cups, print tolerance elsewhere
// Cup 0 (left channel) covers the two front microphones, cup 1 (right channel) the back one.
cups = [[mic_front_left, mic_front_right], [mic_back]];
pocket_shift = [[0, 0], [0, 0]];

earmuff_variant(
    variant = "nest-mini",
    profile = dome_profile(device_d, device_h, band_h),
    device_d = device_d, device_h = device_h, clearance = clearance,
    z_bot = band_h - 6, wall = 2.4, r_flat = 40,
    cups = cups, pocket_shift = pocket_shift,
    buttons = [], windows = [led_window, touch_left, touch_right], ring = [],
    notch = [40, 12],   // power socket and mute switch at the back
    spk_d = 20, spk_h = 3.5, open_r = 3, channel_h = 1.2,
    shelf = [70, 40, 4, 12], fn = fn, assembly = assembly);
