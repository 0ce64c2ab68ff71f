#!/usr/bin/env bash
# mhrfit frames on the real Pose2Sim demo videos (4 cameras, 100 frames at 60 fps, H.264 and VP9,
# 1080x1920 and 1088x1920): 100 frames x 4 cameras written at the videos' sizes, frames_meta.json
# saying so, the pictures readable by FFmpeg's own decoder (ffprobe), then ingest sees the layout;
# usage errors (exit 2), runtime errors (exit 1), --help. The synthetic-video checks of every
# sync mode are in test_video.c.
set -uo pipefail
bin=${MHRFIT_BIN:?}
videos=${MHRFIT_TESTDATA:?}/pose2sim_a948c20/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial/videos
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi; }
command -v ffprobe >/dev/null || { echo "FAIL: ffprobe (Debian package ffmpeg) is missing"; exit 1; }
[ -d "$videos" ] || { echo "FAIL: $videos is missing"; exit 1; }

help=$("$bin" frames --help); rc=$?
check "--help exits 0" $rc
for o in videos video_dir cams out sync id_key offset port_map start end every max_frames format quality \
         subsampling threads rotation allow_gaps allow_vfr overwrite check quiet; do
  check "--help documents --$o" $(grep -q -- "--$o " <<<"$help"; echo $?)
done
check "listed in mhrfit --help" $(grep -q '^  frames ' <<<"$("$bin" --help)"; echo $?)

start=$(date +%s%N)
"$bin" frames --video-dir "$videos" --out "$tmp/cap" >"$tmp/log" 2>"$tmp/err"
rc=$?
end=$(date +%s%N)
check "Pose2Sim videos: exit 0" $rc
echo "400 full-HD frames extracted in $(( (end - start) / 1000000 )) ms"
check "summary line" $(grep -q 'frames: 100 x 4 cameras; pictures: 400 written, 0 gaps, 0 failed; 400 video frames decoded' "$tmp/log"; echo $?)
check "no warnings" $(! grep -q "warning\|error" "$tmp/err"; echo $?)
check "not a terminal: the final progress line" $(grep -q '^frames: 400/400 pictures$' "$tmp/err"; echo $?)
check "100 frame folders" $([ "$(find "$tmp/cap" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 100 ]; echo $?)
check "400 pictures" $([ "$(find "$tmp/cap" -name 'cam0?.jpg' | wc -l)" -eq 400 ]; echo $?)
for c in 1 2 3 4; do
  want=$([ $c -le 2 ] && echo 1080x1920 || echo 1088x1920)
  for f in $([ $c -eq 1 ] && echo 000000 000099 || echo 000057); do
    got=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=s=x:p=0 "$tmp/cap/$f/cam0$c.jpg")
    check "cam0$c frame $f is $want as decoded by ffprobe (got $got)" $([ "$got" = "$want" ]; echo $?)
  done
done
meta=$tmp/cap/frames_meta.json
for c in 1 2 3 4; do
  w=$([ $c -le 2 ] && echo 1080 || echo 1088)
  codec=$([ $c -eq 2 ] && echo vp9 || echo h264)
  blk=$(sed -n "/\"cam0$c\": {/,/}/p" "$meta" | head -40)
  check "meta cam0$c width $w" $(grep -q "\"width\": $w," <<<"$blk"; echo $?)
  check "meta cam0$c height 1920" $(grep -q '"height": 1920,' <<<"$blk"; echo $?)
  check "meta cam0$c codec $codec" $(grep -q "\"codec\": \"$codec\"," <<<"$blk"; echo $?)
  check "meta cam0$c 100 frames" $(grep -q '"frame_count": 100,' <<<"$blk"; echo $?)
  check "meta cam0$c frame rate 60/1" $(grep -q '"frame_rate": "60/1",' <<<"$blk"; echo $?)
  check "meta cam0$c time base 1/15360" $(grep -q '"time_base": "1/15360",' <<<"$blk"; echo $?)
  check "meta cam0$c 100 written" $(grep -q '"frames_written": 100,' <<<"$blk"; echo $?)
done
check "meta: 100 frame lines" $([ "$(grep -c '^  {"frame": "0000[0-9][0-9]", "k": ' "$meta")" -eq 100 ]; echo $?)
check "meta: frame 57 of cam03 at 0.95 s" $(grep '"frame": "000057"' "$meta" | grep -q '"cam03": {"video_frame": 57, "time": 0.95, "path": "000057/cam03.jpg"}'; echo $?)
check "frames_index.csv: 400 pictures" $([ "$(($(wc -l <"$tmp/cap/frames_index.csv") - 1))" -eq 400 ]; echo $?)
check "frames_manifest.csv: 100 complete frames" $([ "$(grep -c ',4,cam01 cam02 cam03 cam04,$' "$tmp/cap/frames_manifest.csv")" -eq 100 ]; echo $?)
# the layout is what ingest reads: every frame folder with its four pictures
"$bin" ingest --input "$tmp/cap" --cams cam01 cam02 cam03 cam04 --out "$tmp/ing" --check >"$tmp/log" 2>&1
check "ingest --check sees 100 frames" $(grep -q '^100 frame(s): 100 to ingest' "$tmp/log"; echo $?)

# a subset with options, PNG, two cameras, an offset
"$bin" frames --videos cam_01="$videos/cam01.mp4" cam_03="$videos/cam03.mp4" --offset cam_03=2 --every 30 \
  --format png --out "$tmp/sub" --quiet >"$tmp/log" 2>&1
check "subset exits 0" $?
check "subset: --quiet leaves only the warning that cam_01's last 2 frames are left out" $([ "$(wc -l <"$tmp/log")" -eq 1 ] && grep -q "warning: camera 'cam_01': its last 2 video frame(s) are not extracted: the frames every video has end at frame number 97" "$tmp/log"; echo $?)
check "subset: 4 frames (0, 30, 60, 90; cam_03 up to its frame 92)" $([ "$(ls "$tmp/sub" | grep -c '^0000[0-9]0$')" -eq 4 ] && [ -f "$tmp/sub/000090/cam_03.png" ]; echo $?)
check "subset: PNG decodes as 1088x1920" $([ "$(ffprobe -v error -show_entries stream=width,height -of csv=s=x:p=0 "$tmp/sub/000090/cam_03.png")" = 1088x1920 ]; echo $?)
check "subset: video frame 92 for frame 90" $(grep '"frame": "000090"' "$tmp/sub/frames_meta.json" | grep -q '"cam_03": {"video_frame": 92,'; echo $?)

# --check writes nothing
"$bin" frames --video_dir "$videos" --out "$tmp/chk" --check --start 90 --end 110 >"$tmp/log" 2>&1
check "--check past the end exits 1" $([ $? -eq 1 ]; echo $?)
check "--check names camera, frame, index and count" $(grep -q "camera 'cam01' frame '000100' asks for video frame 100, past the end of the video .*cam01.mp4 (100 frames)" "$tmp/log"; echo $?)
check "--check wrote nothing" $([ ! -e "$tmp/chk" ]; echo $?)
"$bin" frames --video_dir "$videos" --out "$tmp/chk" --check --start 90 --end 110 --allow_gaps >"$tmp/log" 2>&1
check "--check --allow_gaps: 40 views, 20 gaps" $(grep -q '20 frame(s) x 4 camera(s): 40 picture(s) to write, 40 gap(s)' "$tmp/log"; echo $?)

# runtime errors (exit 1) and usage errors (exit 2)
"$bin" frames --video_dir "$videos" --out "$tmp/cap" >/dev/null 2>"$tmp/err"
check "existing output without --overwrite exits 1" $([ $? -eq 1 ]; echo $?)
check "existing output named" $(grep -q "holds a previous extraction" "$tmp/err"; echo $?)
# --overwrite replaces an earlier extraction only: a demo capture (no frames_meta.json) is refused
# (exit 1, as the other refusals) and left as it was
"$bin" demo --out "$tmp/capz" --num_frames 3 --quiet
cp -a "$tmp/capz" "$tmp/capz.before"
"$bin" frames --videos cam_0="$(ls "$videos"/*.mp4 | head -1)" --out "$tmp/capz" --overwrite --max_frames 2 >/dev/null 2>"$tmp/err"
check "--overwrite into a folder that is no extraction exits 1" $([ $? -eq 1 ]; echo $?)
check "--overwrite into a folder that is no extraction: said" $(grep -q "holds no frames_meta.json: it is no earlier extraction" "$tmp/err"; echo $?)
check "--overwrite into a folder that is no extraction: nothing changed" $(diff -r "$tmp/capz" "$tmp/capz.before" >/dev/null; echo $?)
"$bin" frames --videos cam_x="$tmp/none.mp4" --out "$tmp/x" >/dev/null 2>"$tmp/err"
check "missing video exits 1" $([ $? -eq 1 ]; echo $?)
check "missing video named" $(grep -q "camera 'cam_x': .*none.mp4: cannot open the video" "$tmp/err"; echo $?)
"$bin" frames --video_dir "$videos" >/dev/null 2>&1
check "missing --out exits 2" $([ $? -eq 2 ]; echo $?)
"$bin" frames --video_dir "$videos" --out "$tmp/x" --sync csv >/dev/null 2>"$tmp/err"
check "--sync csv without a file exits 2" $([ $? -eq 2 ]; echo $?)
check "--sync csv without a file explained" $(grep -q 'needs its table file' "$tmp/err"; echo $?)
"$bin" frames --video_dir "$videos" --out "$tmp/x" --sync sometimes >/dev/null 2>"$tmp/err"
check "unknown sync mode exits 2" $([ $? -eq 2 ]; echo $?)
check "sync modes listed" $(grep -q 'index, csv, timestamps' "$tmp/err"; echo $?)
"$bin" frames --video_dir "$videos" --out "$tmp/x" --offset cam01 >/dev/null 2>&1
check "bad --offset exits 2" $([ $? -eq 2 ]; echo $?)
"$bin" frames --video_dir "$videos" --out "$tmp/x" --quality 0 >/dev/null 2>&1
check "bad --quality exits 2" $([ $? -eq 2 ]; echo $?)
"$bin" frames --video_dir "$videos" --out "$tmp/x" --format bmp >/dev/null 2>&1
check "bad --format exits 2" $([ $? -eq 2 ]; echo $?)
# an empty file and a video cut short (its index at the end is missing): exit 1 naming the file,
# FFmpeg's own reason in our message, nothing from FFmpeg on stderr without the file's name
: >"$tmp/empty.mp4"
"$bin" frames --videos "cam_01=$tmp/empty.mp4" --out "$tmp/e" >/dev/null 2>"$tmp/err"; rc=$?
check "an empty video: exit 1, said to be empty (got $rc)" \
  $([ $rc -eq 1 ] && grep -q "empty.mp4: an empty file (0 bytes), not a video" "$tmp/err"; echo $?)
head -c 150000 "$videos/cam01.mp4" >"$tmp/cut.mp4"
"$bin" frames --videos "cam_01=$tmp/cut.mp4" --out "$tmp/c" >/dev/null 2>"$tmp/err"; rc=$?
check "a video cut short: exit 1 with FFmpeg's reason (got $rc)" \
  $([ $rc -eq 1 ] && grep -q "cut.mp4: cannot open the video: .*(FFmpeg: moov atom not found)" "$tmp/err"; echo $?)
check "... and no bare FFmpeg line" $(! grep -q "^\[mov" "$tmp/err"; echo $?)
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
