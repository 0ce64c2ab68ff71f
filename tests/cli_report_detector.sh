#!/usr/bin/env bash
# The report of a run made from a detector's keypoints (mhrfit run --input_format openpose --layout
# body25b on Pose2Sim's balancing trial, with --report), checked in headless Chromium
# (tests/browser/report_page.mjs --mode detector): the page holds the run's 25 BODY_25B keypoints
# by name with the layout's 25 skeleton links, draws them and the skeleton in 3-D, and each camera
# panel draws as many keypoint marks as the frame's OpenPose file has detected keypoints (confidence
# above 0), with the skeleton reprojected; no note speaks of MHR70 files or stage 1. A missing node,
# puppeteer-core or Chromium fails the test.
src=$(pwd)
. "$(dirname "$0")/testlib.sh"
data=${MHRFIT_TESTDATA:?}/pose2sim_a948c20
trial=$data/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial
py=/usr/bin/python3
check "node is installed (scripts/deps)" $(command -v node >/dev/null; echo $?)
check "puppeteer-core is installed (npm ci; scripts/deps)" $([ -d "$src/node_modules/puppeteer-core" ]; echo $?)
check "Chromium is installed (scripts/deps)" $([ -x "${MHRFIT_CHROMIUM:-/usr/bin/chromium}" ]; echo $?)
check "Debian's python3 is installed" $([ -x "$py" ]; echo $?)
frames=$(printf '%06d ' $(seq 0 29))
"$bin" run --input "$trial/pose-associated" --calib "$data/S00_Calibration/Calib_qualisys.toml" \
  --cams cam_01 cam_02 cam_03 cam_04 --cam-dirs cam01_json cam02_json cam03_json cam04_json --input-format openpose \
  --layout body25b --fps 60 --frames $frames --out "$tmp/run" --report >"$tmp/log" 2>"$tmp/err"
check "detector run --report exits 0" $?
cat "$tmp/err"
check "the report written" $(has "$tmp/log" "^report: $tmp/run/report.html (.* 30 frames, 4 cameras, with the body)")
check "no note of MHR70 files, stage 1 or fit.npz" $(! grep -E "report: note: .*(70|stage1|fit\.npz)" "$tmp/log" >/dev/null; echo $?)
grep "report: note" "$tmp/log"
# the finite 2-D keypoints of frames 0, 14 and 29 per camera, from the OpenPose files themselves
"$py" - "$trial/pose-associated" "$tmp/expect.json" <<'PY'
import json, os, sys
root, out = sys.argv[1], sys.argv[2]
frames = {}
for f in (0, 14, 29):
    frames[f] = {}
    for c in range(1, 5):
        d = os.path.join(root, f"cam0{c}_json")
        people = json.load(open(os.path.join(d, sorted(os.listdir(d))[f])))["people"]
        kp = people[0]["pose_keypoints_2d"] if people else []
        frames[f][f"cam_0{c}"] = sum(1 for i in range(0, len(kp), 3) if kp[i + 2] > 0)
json.dump({"keypoints": 25, "links": 25, "name": "RHeel", "frames": frames}, open(out, "w"))
print(frames)
PY
check "the expected marks counted" $?
( cd "$src" && node tests/browser/report_page.mjs --html "$tmp/run/report.html" --mode detector --expect "$tmp/expect.json" )
check "browser checks of the detector run's report" $?
finish
