#!/usr/bin/env bash
# mhrfit triangulate with any keypoint set: the Pose2Sim balancing trial's OpenPose detections
# rewritten as Caliscope's xy csv (sparse point ids, no Head) triangulate to the same points as
# the OpenPose input; names come from the point ids or --keypoint_names and are carried in the
# archive; a layout or a name list whose count differs from the input's is a clear error.
set -uo pipefail
bin=${MHRFIT_BIN:?}
data=${MHRFIT_TESTDATA:?}/pose2sim_a948c20
trial=$data/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial
calib=$data/S00_Calibration/Calib_qualisys.toml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi; }
# Caliscope csv: one row per detected point (likelihood > 0), port = camera number, Head (18) left out.
bash "$(dirname "$0")/p2s_caliscope_csv.sh" "$trial" "$tmp/xy_OPENPOSE.csv"
check "csv written" $([ "$(wc -l <"$tmp/xy_OPENPOSE.csv")" -gt 7000 ]; echo $?)
cams="cam_01 cam_02 cam_03 cam_04"
"$bin" triangulate --calib "$calib" --cams $cams --cam-dirs cam01_json cam02_json cam03_json cam04_json \
  --input "$trial/pose-associated" --input-format openpose --layout body25b --out "$tmp/op.npz" >"$tmp/log" 2>&1
check "openpose triangulation exits 0" $?
"$bin" triangulate --calib "$calib" --cams $cams --input "$tmp" --input-format caliscope_csv --out "$tmp/cs.npz" \
  >"$tmp/log" 2>&1
check "caliscope triangulation exits 0" $?
check "24 keypoints from the ids" $(grep -q "100 frame(s) x 24 keypoints from 4 cameras (caliscope_csv input" "$tmp/log"; echo $?)
field() { "$bin" inspect "$1" --json | grep "^  \"$2\":"; }
out=$(field "$tmp/cs.npz" subset_names)
check "names are the point ids, Head left out" $(grep -q '"16", "17", "19", "20"' <<<"$out"; echo $?)
field "$tmp/op.npz" points3d_refined >"$tmp/op.txt"
field "$tmp/cs.npz" points3d_refined >"$tmp/cs.txt"
check "inspect prints the points" $([ -s "$tmp/op.txt" ] && [ -s "$tmp/cs.txt" ]; echo $?)
# The same layout through --layout body25b (ids = BODY_25B indices): equal to the OpenPose input
# within 0.1 mm (the csv has no likelihoods, which only weight the starting DLT).
"$bin" triangulate --calib "$calib" --cams $cams --input "$tmp/xy_OPENPOSE.csv" --input-format caliscope_csv \
  --layout body25b --out "$tmp/cs25.npz" >/dev/null 2>&1
check "caliscope with a layout exits 0" $?
field "$tmp/cs25.npz" points3d_refined >"$tmp/cs25.txt"
nums() { cut -d: -f2- "$1" | tr -s '[] ,' '\n' | grep -E '^(-?[0-9]|null)'; }
res=$(paste -d' ' <(nums "$tmp/op.txt") <(nums "$tmp/cs25.txt") |
  awk '$1 != "null" && $2 != "null" { n++; d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d }
       $1 == "null" || $2 == "null" { nn++ } END { printf "%d %.3g %d", n, m, nn }')
read -r n maxd nnull <<<"$res"
echo "caliscope vs openpose: $n values, max |diff| $maxd m, $nnull NaN in either"
check "values compared" $([ "${n:-0}" -gt 5000 ]; echo $?)
check "caliscope equals openpose within 1e-4 m" $(awk -v m="${maxd:-1}" 'BEGIN { exit !(m <= 1e-4) }'; echo $?)
# --keypoint_names: 24 names carried in the archive; a wrong count is an error
for i in $(seq 0 23); do echo "point_$i"; done >"$tmp/names.txt"
"$bin" triangulate --calib "$calib" --cams $cams --input "$tmp/xy_OPENPOSE.csv" --input-format caliscope_csv \
  --keypoint-names "$tmp/names.txt" --out "$tmp/named.npz" >/dev/null 2>&1
check "named triangulation exits 0" $?
check "names carried" $(field "$tmp/named.npz" subset_names | grep -q '"point_0", "point_1".*"point_23"'; echo $?)
head -5 "$tmp/names.txt" >"$tmp/five.txt"
"$bin" triangulate --calib "$calib" --cams $cams --input "$tmp/xy_OPENPOSE.csv" --input-format caliscope_csv \
  --keypoint-names "$tmp/five.txt" --out "$tmp/bad.npz" >/dev/null 2>"$tmp/err"; rc=$?
check "name count mismatch exits 1" $([ $rc -eq 1 ]; echo $?)
check "name count mismatch explained" $(grep -q "lists 5 names but the input has 24 keypoints" "$tmp/err"; echo $?)
check "no output on error" $([ ! -e "$tmp/bad.npz" ]; echo $?)
"$bin" triangulate --calib "$calib" --cams $cams --input "$tmp/xy_OPENPOSE.csv" --input-format caliscope_csv \
  --layout coco17 --out "$tmp/bad.npz" >/dev/null 2>"$tmp/err"; rc=$?
check "ids beyond the layout exit 1" $([ $rc -eq 1 ]; echo $?)
check "ids beyond the layout explained" $(grep -q "outside the layout's 17 keypoints" "$tmp/err"; echo $?)
"$bin" triangulate --calib "$calib" --cams $cams --input "$tmp" --input-format caliscope_csv --layout body25b \
  --keypoint-names "$tmp/names.txt" --out "$tmp/bad.npz" >/dev/null 2>&1; rc=$?
check "--layout with --keypoint_names exits 2" $([ $rc -eq 2 ]; echo $?)
help=$("$bin" triangulate --help)
check "help names caliscope_csv" $(grep -q "caliscope_csv" <<<"$help"; echo $?)
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
