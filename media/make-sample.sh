#!/bin/sh
# SPDX-License-Identifier: MIT
# Make a short sample clip for --input FILE: make-sample.sh OUT [SECONDS]
set -eu
out=${1:?usage: make-sample.sh OUT [SECONDS]}
secs=${2:-10}
exec ffmpeg -v error -y -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=$secs" \
	-f lavfi -i "sine=frequency=440:duration=$secs" -c:v libx264 -preset veryfast \
	-pix_fmt yuv420p -c:a aac -shortest "$out"
