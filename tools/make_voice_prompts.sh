#!/usr/bin/env bash
# Makes the Mandarin voice prompts of the camera step (static/audio/*.mp3) with Debian's espeak-ng
# (voice cmn) and ffmpeg: mono, 16 kHz, 24 kbit/s MP3, leading and trailing silence trimmed.
# Needs `apt-get install espeak-ng ffmpeg`; only for remaking the files, never at run time or in tests.
# The texts must say the same as the on-screen prompts in templates/certify/camera.html.
set -euo pipefail
cd "$(dirname "$0")/.."
out=static/audio
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A prompts=(
  [look]="请正对屏幕"
  [blink]="请眨眨眼"
  [turn_left]="请向左转头"
  [turn_right]="请向右转头"
  [open_mouth]="请张张嘴"
  [checking]="正在核验，请稍候"
)

for name in "${!prompts[@]}"; do
  espeak-ng -v cmn -s 170 -a 180 -w "$work/$name.wav" "${prompts[$name]}"
  ffmpeg -hide_banner -loglevel error -y -i "$work/$name.wav" \
    -af "silenceremove=start_periods=1:start_threshold=-45dB,areverse,silenceremove=start_periods=1:start_threshold=-45dB,areverse" \
    -ac 1 -ar 16000 -codec:a libmp3lame -b:a 24k -map_metadata -1 "$out/$name.mp3"
  echo "$out/$name.mp3 $(stat -c %s "$out/$name.mp3") bytes: ${prompts[$name]}"
done
