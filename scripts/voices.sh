# shellcheck shell=bash disable=SC2034
# Sourced by scripts/setup.sh and scripts/install.sh: the Debian packages of the training voices, and the
# contrib and non-free components that RHVoice, Pico and MBROLA come from (models/README.md has the licences).

# Debian main: festival and its voices.
voice_packages=(festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts)
# contrib / non-free: RHVoice's English voices (we use the LGPL ones), Pico (Apache-2.0).
voice_packages+=(rhvoice rhvoice-english libttspico-utils)
# MBROLA (non-free: its voices may not be sold or built into a sold product). US and UK English, and the
# speakers of German, French, Dutch, ... whose English espeak-ng drives (`espeak-ng --voices=mb`, language en).
mbrola_packages=(mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1 mbrola-af1 mbrola-nl2 mbrola-fr1 mbrola-fr4
    mbrola-de1 mbrola-de2 mbrola-de3 mbrola-de4 mbrola-de5 mbrola-de6 mbrola-gr2 mbrola-hu1 mbrola-pl1 mbrola-ro1
    mbrola-sw1 mbrola-sw2)

# Add contrib and non-free for bookworm from the mirror main already comes from, unless apt already knows them.
# $1: a command prefix ("" or "act" in install.sh, which prints and may skip it).
enable_contrib_non_free() {
    local run="${1:-}" uri keyring file=/etc/apt/sources.list.d/earmuff-contrib-non-free.sources
    if grep -qsE '(^deb .*bookworm.* non-free( |$))|(^Components:.* non-free( |$))' /etc/apt/sources.list \
            /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; then
        return
    fi
    # The URI and keyring of the first bookworm "main" source: deb822 (.sources) first, then one-line (.list) files.
    uri=$(awk 'BEGIN{RS=""} /Suites:[^\n]*bookworm( |\n|$)/ && /Components:[^\n]*main/ {
              match($0, /URIs: *[^ \n]+/); print substr($0, RSTART + 6, RLENGTH - 6); exit}' \
          /etc/apt/sources.list.d/*.sources 2>/dev/null | tr -d ' ')
    keyring=$(awk 'BEGIN{RS=""} /Suites:[^\n]*bookworm( |\n|$)/ && /Components:[^\n]*main/ {
              match($0, /Signed-By: *[^ \n]+/); print substr($0, RSTART + 11, RLENGTH - 11); exit}' \
          /etc/apt/sources.list.d/*.sources 2>/dev/null | tr -d ' ')
    if [ -z "$uri" ]; then
        uri=$(grep -hE '^deb +(\[[^]]*\] +)?[a-z]+://[^ ]+ +bookworm +.*main' /etc/apt/sources.list \
              /etc/apt/sources.list.d/*.list 2>/dev/null | sed -E 's/^deb +(\[[^]]*\] +)?([^ ]+).*/\2/' | head -n 1)
    fi
    if [ -z "$uri" ]; then
        echo "voices: no Debian bookworm 'main' source found in /etc/apt; add contrib and non-free by hand" >&2
        return 1
    fi
    echo "voices: adding Debian contrib and non-free for bookworm from $uri ($file)"
    local text="Types: deb
URIs: $uri
Suites: bookworm
Components: contrib non-free${keyring:+
Signed-By: $keyring}"
    if [ -n "$run" ]; then
        $run sh -c "printf '%s\n' \"\$1\" > $file" sh "$text"
    else
        printf '%s\n' "$text" > "$file"
    fi
}
