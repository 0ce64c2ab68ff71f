#!/usr/bin/env bash
# Without --cams, `run` and `triangulate` use every calibrated camera that has files; a camera
# the calibration holds without `matrix` (its table ignored) and a camera the capture has files
# of but the calibration lacks are said in warnings (the table with its line, the files), not
# dropped without a word. A complete calibration, and Pose2Sim's [metadata] table, warn nothing.
. "$(dirname "$0")/testlib.sh"
data=${MHRFIT_TESTDATA:?}/pose2sim_a948c20
trial=$data/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial
demo "$tmp/cap" 4
cal=$tmp/cap/calibration.toml
line=$(grep -n '^\[cam_1\]' "$cal" | cut -d: -f1)
# [cam_1] without its matrix; a calibration without [cam_3] (up to the next table)
awk '/^\[cam_1\]/{t=1} /^\[/ && !/^\[cam_1\]/{t=0} !(t && /^matrix/)' "$cal" >"$tmp/nomatrix.toml"
awk '/^\[cam_3\]/{s=1; next} /^\[/{s=0} !s' "$cal" >"$tmp/nocam3.toml"
check "fixture: [cam_1] lost its matrix" $([ "$(grep -c '^matrix' "$tmp/nomatrix.toml")" = 3 ] &&
  ! grep -q '^\[cam_3\]' "$tmp/nocam3.toml"; echo $?)

# run on the SAM 3D Body capture
"$bin" run --input "$tmp/cap" --calib "$cal" --out "$tmp/run_all" --jobs 1 >"$tmp/all.log" 2>&1
check "run, complete calibration: exits 0" $?
check "run, complete calibration: no warning of left-out cameras" \
  $(! grep -Eq "no 'matrix' field|no calibrated camera" "$tmp/all.log"; echo $?)
"$bin" run --input "$tmp/cap" --calib "$tmp/nomatrix.toml" --out "$tmp/run_nomatrix" --jobs 1 >"$tmp/nm.log" 2>&1
check "run, [cam_1] without matrix: exits 0" $?
check "run: the ignored table is named with its line" \
  $(has "$tmp/nm.log" "warning: .*nomatrix.toml: table(s) \[cam_1\] (line $line) have no 'matrix' field")
check "run: cam_1's files are named" $(has "$tmp/nm.log" "warning: .*SAM 3D Body files of no calibrated camera of .*nomatrix.toml: cam_1.npz")
check "run: 3 cameras" $(tr -d ' \n' <"$tmp/run_nomatrix/pipeline_config.json" | grep -q '"cams":\["cam_0","cam_2","cam_3"\]'; echo $?)
"$bin" run --input "$tmp/cap" --calib "$tmp/nocam3.toml" --out "$tmp/run_nocam3" --jobs 1 >"$tmp/n3.log" 2>&1
check "run, no [cam_3]: exits 0" $?
check "run: cam_3's files are named" $(has "$tmp/n3.log" "warning: .*SAM 3D Body files of no calibrated camera of .*nocam3.toml: cam_3.npz (not read")
check "run, no [cam_3]: no table warning" $(! grep -q "no 'matrix' field" "$tmp/n3.log"; echo $?)
"$bin" run --input "$tmp/cap" --calib "$tmp/nocam3.toml" --cams cam_0 cam_1 cam_2 --out "$tmp/run_named" --jobs 1 \
  >"$tmp/named.log" 2>&1
check "run --cams: the cameras not asked for are not warned of" \
  $([ $? = 0 ] && ! grep -q "no calibrated camera" "$tmp/named.log"; echo $?)

# triangulate on one frame of it that holds every camera's file
frame=
for d in "$tmp"/cap/0*; do [ -z "$frame" ] && [ "$(ls "$d"/cam_*.npz | wc -l)" = 4 ] && frame=$(basename "$d"); done
"$bin" triangulate --calib "$cal" --input "$tmp/cap/$frame" --out "$tmp/t_all.npz" --quiet 2>"$tmp/t_all.err"
check "triangulate, complete calibration: exits 0 without a warning of left-out cameras" \
  $([ $? = 0 ] && ! grep -Eq "no 'matrix' field|no calibrated camera" "$tmp/t_all.err"; echo $?)
"$bin" triangulate --calib "$tmp/nomatrix.toml" --input "$tmp/cap/$frame" --out "$tmp/t_nm.npz" --quiet 2>"$tmp/t_nm.err"
check "triangulate, [cam_1] without matrix: exits 0" $?
check "triangulate: the ignored table is named with its line" \
  $(has "$tmp/t_nm.err" "warning: .*nomatrix.toml: table(s) \[cam_1\] (line $line) have no 'matrix' field")
check "triangulate: cam_1.npz is named" $(has "$tmp/t_nm.err" "warning: .*$frame: cam_1.npz hold(s) the keypoints of no calibrated camera")
check "triangulate: 3 cameras" $("$bin" inspect "$tmp/t_nm.npz" | grep -Eq '^inlier_mask +bool +\(70, 3\)$'; echo $?)
"$bin" triangulate --calib "$tmp/nocam3.toml" --input "$tmp/cap/$frame" --out "$tmp/t_n3.npz" --quiet 2>"$tmp/t_n3.err"
check "triangulate, no [cam_3]: exits 0 naming cam_3.npz" \
  $([ $? = 0 ] && has "$tmp/t_n3.err" "warning: .*cam_3.npz hold(s) the keypoints of no calibrated camera of .*nocam3.toml"; echo $?)

# OpenPose folders (Pose2Sim's trial): a folder no camera maps to is named; [metadata] is not a camera
"$bin" triangulate --calib "$data/S00_Calibration/Calib_qualisys.toml" --input "$trial/pose-associated" \
  --cam_map cam01=cam_01 cam02=cam_02 cam03=cam_03 cam04=cam_04 --layout body25b --out "$tmp/p4.npz" --quiet 2>"$tmp/p4.err"
check "Pose2Sim, every folder mapped: exits 0 without a warning" $([ $? = 0 ] && [ ! -s "$tmp/p4.err" ]; echo $?)
"$bin" triangulate --calib "$data/S00_Calibration/Calib_qualisys.toml" --input "$trial/pose-associated" \
  --cam_map cam01=cam_01 cam02=cam_02 cam03=cam_03 --layout body25b --out "$tmp/p3.npz" --quiet 2>"$tmp/p3.err"
check "Pose2Sim, cam04_json not mapped: exits 0 naming the folder" \
  $([ $? = 0 ] && has "$tmp/p3.err" "warning: .*pose-associated: cam04_json hold(s) the keypoints of no calibrated camera"; echo $?)
"$bin" run --input "$trial/pose-associated" --calib "$data/S00_Calibration/Calib_qualisys.toml" \
  --cam_map cam01=cam_01 cam02=cam_02 cam03=cam_03 --input_format openpose --layout body25b --fps 60 \
  --frames 000000 000001 000002 --out "$tmp/p3run" --jobs 1 >"$tmp/p3run.log" 2>&1
check "run --input_format openpose, cam04_json not mapped: exits 0 naming the folder" \
  $([ $? = 0 ] && has "$tmp/p3run.log" "warning: .*pose-associated: cam04_json hold(s) the keypoints of no calibrated camera"; echo $?)
finish
