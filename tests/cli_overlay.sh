#!/usr/bin/env bash
# mhrfit overlay, checked with FFmpeg's own programs (ffprobe, ffmpeg; a missing one fails the test):
# - the real Pose2Sim demo: its videos -> mhrfit frames -> its OpenPose detections triangulated
#   (--layout body25b, Pose2Sim's rule) -> overlays of the triangulated points on the real
#   pictures: every picture decodes (ffprobe) at its video's size; per camera the mean distance
#   between the drawn points and the detections they came from is printed, stays below 15 px for
#   points seen by 3 or more cameras, and equals the triangulation's own reprojection errors;
#   the per-camera video has one frame per frame and matches the pictures (ffmpeg's psnr filter);
# - bad inputs on a demo capture: a missing picture, a truncated JPEG, a PNG of the wrong size
#   (skipped, or resampled with --rescale), a calibration camera without pictures; the rest is
#   written; an output folder that is not an overlay's is refused; usage errors exit 2;
# - the .glb exported from the detector fit passes the Khronos glTF validator (node).
set -uo pipefail
bin=${MHRFIT_BIN:?}
data=${MHRFIT_TESTDATA:?}/pose2sim_a948c20
trial=$data/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial
calib=$data/S00_Calibration/Calib_qualisys.toml
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi; }
for p in ffprobe ffmpeg; do check "$p is installed (Debian package ffmpeg, scripts/deps)" $(command -v $p >/dev/null; echo $?); done
check "Debian's python3 is installed" $([ -x "$py" ]; echo $?)
check "the Pose2Sim trial is present" $([ -d "$trial/videos" ]; echo $?)
if [ "$fail" -ne 0 ]; then echo "$pass passed, $fail failed"; exit 1; fi

help=$("$bin" overlay --help); rc=$?
check "--help exits 0" $rc
for o in run tri fit keypoints layout cam_dirs calib capture cams frames out source layers mesh rescale format \
         video grid fps codec crf; do
  check "--help documents --$o" $(grep -q -- "--$o " <<<"$help"; echo $?)
done
check "listed in mhrfit --help" $(grep -q '^  overlay ' <<<"$("$bin" --help)"; echo $?)

# ---- the real Pose2Sim demo: 20 frames of 4 cameras
cams="cam_01 cam_02 cam_03 cam_04"
dirs="cam01_json cam02_json cam03_json cam04_json"
"$bin" frames --videos cam_01="$trial/videos/cam01.mp4" cam_02="$trial/videos/cam02.mp4" \
  cam_03="$trial/videos/cam03.mp4" cam_04="$trial/videos/cam04.mp4" --end 20 --out "$tmp/cap" --quiet
check "frames: exit 0" $?
"$bin" triangulate --calib "$calib" --cams $cams --cam-dirs $dirs --input "$trial/pose-associated" \
  --layout body25b --method pose2sim --out "$tmp/tri.npz" >/dev/null
check "triangulate: exit 0" $?
"$bin" overlay --tri "$tmp/tri.npz" --calib "$calib" --capture "$tmp/cap" --keypoints "$trial/pose-associated" \
  --layout body25b --cam_dirs $dirs --frames 0:20 --out "$tmp/p2s" --video >"$tmp/log" 2>"$tmp/err"
check "overlay: exit 0" $?
cat "$tmp/log"
check "80 overlays written" $(grep -q '20 frame(s) x 4 camera(s): 80 written, 0 skipped, 0 failed; 4 video(s) (libx264)' "$tmp/log"; echo $?)
check "rate from the capture's frames_meta.json" $(grep -q 'video rate: 60 fps (frames_meta.json)' "$tmp/log"; echo $?)
check "1080 against 1088 taken as codec padding" $(grep -q "camera 'cam_01': pictures of 1080x1920, calibration 1088x1920" "$tmp/log"; echo $?)
for c in 1 2 3 4; do
  want=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=s=x:p=0 "$trial/videos/cam0$c.mp4")
  got=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=width,height,nb_read_frames \
        -of csv=s=x:p=0 -f image2 -i "$tmp/p2s/%06d/cam_0$c.jpg" 2>&1)
  check "cam_0$c: 20 overlays decode at the video's size $want (got $got)" $([ "$got" = "${want}x20" ]; echo $?)
  line=$(grep "^cam_0$c " "$tmp/log")
  err3=$(awk '{print $7}' <<<"$line")
  check "cam_0$c: mean distance of points seen by 3+ cameras $err3 px < 15 px" $(awk -v e="$err3" 'BEGIN{exit !(e > 0 && e < 15)}'; echo $?)
  vf=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames,codec_name -of csv=p=0 "$tmp/p2s/cam_0$c.mp4")
  check "cam_0$c.mp4: H.264, 20 frames (got $vf)" $([ "$vf" = "h264,20" ]; echo $?)
done
# the drawn points' distances are the triangulation's own reprojection errors (frames 0-19)
"$bin" inspect --json "$tmp/tri.npz" >"$tmp/tri.json"
"$py" - "$tmp/tri.json" "$tmp/p2s/overlay_summary.json" >"$tmp/cmp" 2>&1 <<'EOF'
import json, sys
tri = json.load(open(sys.argv[1])); ov = json.load(open(sys.argv[2]))
bad = 0
for v, cam in enumerate(tri["cams"]):
    d = [tri["reproj_err_px"][f][k][v] for f in range(20) for k in range(25)
         if tri["inlier_mask"][f][k][v] and tri["n_views_used"][f][k] >= 3 and tri["reproj_err_px"][f][k][v] is not None]
    mine = [c for c in ov["cameras"] if c["name"] == cam][0]
    a, b = sum(d) / len(d), mine["mean_reprojection_3_cameras_px"]
    print(f"{cam}: triangulation {a:.3f} px over {len(d)} points, overlay {b:.3f} px over {mine['points_3_cameras']}")
    bad += len(d) != mine["points_3_cameras"] or abs(a - b) > 0.05
sys.exit(bad)
EOF
rc=$?
cat "$tmp/cmp"
check "the overlay's distances are the triangulation's reprojection errors" $rc
# frame k of the video against overlay picture k (FFmpeg's psnr filter)
ffmpeg -v error -i "$tmp/p2s/cam_03.mp4" -f image2 -framerate 60 -i "$tmp/p2s/%06d/cam_03.jpg" \
  -lavfi "[0:v][1:v]psnr=stats_file=$tmp/psnr.log" -f null - 2>"$tmp/err"
check "ffmpeg compares the video with the pictures" $?
minpsnr=$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^psnr_avg:/) {split($i, a, ":"); print a[2]}}' "$tmp/psnr.log" | sort -g | head -1)
echo "cam_03.mp4 against its overlays: lowest PSNR $minpsnr dB over $(wc -l <"$tmp/psnr.log") frames"
check "every video frame within 30 dB of its overlay" $(awk -v p="$minpsnr" 'BEGIN{exit !(p >= 30)}'; echo $?)
check "20 frames compared" $([ "$(wc -l <"$tmp/psnr.log")" -eq 20 ]; echo $?)

# the fit of the detections (mhrfit fit --layout body25b) drawn as a mesh over the real pictures
"$bin" fit --tri "$tmp/tri.npz" --layout body25b --out "$tmp/fit.npz" >/dev/null 2>&1
check "fit of the detections: exit 0" $?
for l in mesh none; do
  "$bin" overlay --tri "$tmp/tri.npz" --fit "$tmp/fit.npz" --calib "$calib" --capture "$tmp/cap" --frames 10 \
    --layers $l --format png --out "$tmp/l_$l" --quiet
  check "overlay --fit --layers $l: exit 0" $?
done
psnr=$(ffmpeg -v info -i "$tmp/l_mesh/000010/cam_01.png" -i "$tmp/l_none/000010/cam_01.png" -lavfi psnr -f null - 2>&1 |
       grep -o 'average:[0-9.]*' | cut -d: -f2)
check "the fitted mesh is drawn over the picture (PSNR ${psnr:-?} dB against the bare picture)" $(awk -v p="${psnr:-99}" 'BEGIN{exit !(p < 35)}'; echo $?)
# a detector fit's keypoints (25 of its layout, not MHR70) are left out by the sources of export and overlay
"$bin" export --input "$tmp/fit.npz" --out "$tmp/fit.glb" >/dev/null 2>&1
check "export of a detector fit: exit 0" $?
(cd "$(dirname "$0")/.." && node tests/interop/validate_gltf.mjs "$tmp/fit.glb") >"$tmp/val.log" 2>&1
check "validator: the detector fit's .glb has 0 errors and 0 warnings" $(grep -q ": 0 errors, 0 warnings" "$tmp/val.log"; echo $?)

# ---- bad inputs on a demo capture
"$bin" demo --out "$tmp/demo" --num_frames 6 --no_missing_views --images --quiet
check "demo --images: exit 0" $?
check "demo pictures written" $([ "$(find "$tmp/demo" -name 'cam_?.jpg' | wc -l)" -eq 24 ]; echo $?)
"$bin" run --quiet --input "$tmp/demo" --calib "$tmp/demo/calibration.toml" --cams cam_0 cam_1 cam_2 cam_3 --out "$tmp/run" >/dev/null 2>&1
check "run on the demo: exit 0" $?
cp -r "$tmp/demo" "$tmp/pics" && mv "$tmp/demo" "$tmp/demo_away"
"$bin" overlay --run "$tmp/run" --capture "$tmp/pics" --calib "$tmp/pics/calibration.toml" --frames 0:1 --out "$tmp/given" >"$tmp/log" 2>&1
check "--run with --capture (the run's input moved away): the pictures of --capture drawn" \
  $([ $? -eq 0 ] && grep -q '1 frame(s) x 4 camera(s): 4 written, 0 skipped' "$tmp/log"; echo $?)
# a partial extraction: the pictures of 4 of 6 frames gone (16 views), only the first 8 named
rm "$tmp"/pics/00000[2-5]/*.jpg
"$bin" overlay --run "$tmp/run" --capture "$tmp/pics" --calib "$tmp/pics/calibration.toml" --out "$tmp/partial" \
  >"$tmp/log" 2>"$tmp/err"
check "partial pictures: exit 0, 8 written, 16 skipped" $([ $? -eq 0 ] && grep -q '6 frame(s) x 4 camera(s): 8 written, 16 skipped' "$tmp/log"; echo $?)
check "partial pictures: 8 views named, then one line for the other 8" \
  $([ "$(grep -c "skipped: no picture" "$tmp/err")" -eq 8 ] && grep -q "8 more views skipped for want of a picture (all listed in .*partial/overlay_summary.json)" "$tmp/err"; echo $?)
mv "$tmp/demo_away" "$tmp/demo"
rm "$tmp/demo/000001/cam_1.jpg"
head -c 4000 "$tmp/demo/000002/cam_2.jpg" >"$tmp/t.jpg" && mv "$tmp/t.jpg" "$tmp/demo/000002/cam_2.jpg"
ffmpeg -v error -i "$tmp/demo/000003/cam_3.jpg" -vf scale=960:540 "$tmp/demo/000003/cam_3.png" && rm "$tmp/demo/000003/cam_3.jpg"
awk '/^\[cam_0\]/{p=1} p&&/^\[cam_1\]/{exit} p' "$tmp/demo/calibration.toml" | sed 's/cam_0/cam_4/g' >"$tmp/extra.toml"
cat "$tmp/demo/calibration.toml" "$tmp/extra.toml" >"$tmp/calib5.toml"
"$bin" overlay --run "$tmp/run" --calib "$tmp/calib5.toml" --cams cam_0 cam_1 cam_2 cam_3 cam_4 --out "$tmp/bad" \
  >"$tmp/log" 2>"$tmp/err"
check "bad inputs: exit 0 (the rest is written)" $?
cat "$tmp/err"
check "21 of 24 views written" $(grep -q '6 frame(s) x 4 camera(s): 21 written, 3 skipped, 0 failed' "$tmp/log"; echo $?)
check "missing picture named" $(grep -q "frame '000001' camera 'cam_1': skipped: no picture .*000001/cam_1.jpg" "$tmp/err"; echo $?)
check "truncated JPEG named" $(grep -q "frame '000002' camera 'cam_2': skipped: .*000002/cam_2.jpg" "$tmp/err"; echo $?)
check "wrong size named, --rescale suggested" $(grep -q "frame '000003' camera 'cam_3': skipped: .*cam_3.png is 960x540, the calibration of camera 'cam_3' 1920x1080 (--rescale" "$tmp/err"; echo $?)
check "camera without pictures left out" $(grep -q "camera 'cam_4' has no picture in .*: left out" "$tmp/err"; echo $?)
check "the summary lists the skipped views" $("$py" -c "
import json, sys
s = json.load(open('$tmp/bad/overlay_summary.json'))
kinds = sorted((k['frame'], k['camera'], k['kind']) for k in s['skipped'])
sys.exit(kinds != [('000001', 'cam_1', 'missing'), ('000002', 'cam_2', 'unreadable'), ('000003', 'cam_3', 'size')]
         or len([f for f in s['files'] if f.endswith('.jpg')]) != 21)"; echo $?)
check "the views next to them are written" $([ -f "$tmp/bad/000001/cam_0.jpg" ] && [ -f "$tmp/bad/000003/cam_2.jpg" ]; echo $?)
"$bin" overlay --run "$tmp/run" --out "$tmp/bad" --rescale --frames 3:4 >"$tmp/log" 2>"$tmp/err"
check "--rescale: exit 0 into the earlier overlay folder" $?
check "--rescale: the small PNG is resampled and drawn" $(grep -q '1 frame(s) x 4 camera(s): 4 written, 0 skipped' "$tmp/log"; echo $?)
check "--rescale: the earlier overlay's files are gone" $([ ! -e "$tmp/bad/000001" ] && [ -f "$tmp/bad/000003/cam_3.jpg" ]; echo $?)
size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=s=x:p=0 "$tmp/bad/000003/cam_3.jpg")
check "--rescale: drawn at the calibration's size (got $size)" $([ "$size" = 1920x1080 ]; echo $?)
mkdir -p "$tmp/other" && touch "$tmp/other/keep.txt"
"$bin" overlay --run "$tmp/run" --out "$tmp/other" >/dev/null 2>"$tmp/err"
check "a folder that is not an overlay's is refused (exit 1)" $([ $? -eq 1 ] && grep -q 'not an earlier overlay' "$tmp/err"; echo $?)
check "and left alone" $([ -f "$tmp/other/keep.txt" ] && [ "$(ls "$tmp/other" | wc -l)" -eq 1 ]; echo $?)
"$bin" overlay --run "$tmp/run" --out "$tmp/demo" >/dev/null 2>"$tmp/err"
check "the pictures' folder as output is refused" $([ $? -eq 1 ] && grep -q "pictures' folder" "$tmp/err"; echo $?)

# ---- usage errors
"$bin" overlay --run "$tmp/run" >/dev/null 2>&1
check "missing --out exits 2" $([ $? -eq 2 ]; echo $?)
"$bin" overlay --run "$tmp/run" --tri "$tmp/tri.npz" --out "$tmp/x" >/dev/null 2>&1
check "--run and --tri together exit 2" $([ $? -eq 2 ]; echo $?)
"$bin" overlay --run "$tmp/run" --out "$tmp/x" --layers mesh,bones >/dev/null 2>"$tmp/err"
check "unknown layer exits 2 and is named" $([ $? -eq 2 ] && grep -q "bones" "$tmp/err"; echo $?)
"$bin" overlay --run "$tmp/run" --out "$tmp/x" --frames 5:2 >/dev/null 2>&1
check "bad --frames exits 2" $([ $? -eq 2 ]; echo $?)
"$bin" overlay --run "$tmp/run" --out "$tmp/x" --mesh dots >/dev/null 2>&1
check "bad --mesh exits 2" $([ $? -eq 2 ]; echo $?)
"$bin" overlay --tri "$tmp/tri.npz" --out "$tmp/x" >/dev/null 2>"$tmp/err"
check "--tri without --calib exits 1 and says so" $([ $? -eq 1 ] && grep -q -- '--calib' "$tmp/err"; echo $?)
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
