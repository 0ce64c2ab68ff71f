#!/usr/bin/env bash
# Regression test of issue 17, defect 13: unit and resolution mistakes are detected and explained
# (on stderr and in sequence_summary.json's "diagnosis"): a calibration in millimetres read as
# metres, and 2D keypoints of images at half the calibrated resolution; every bad_loss frame
# carries a message.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/testlib.sh"
demo "$tmp/cap" 16 4; check "demo" $?
C=(--input "$tmp/cap" --no_mesh)
# millimetres: every translation times 1000
calib_map "$tmp/cap/calibration.toml" "$tmp/mm.toml" '/^translation/ { $0 = scale($0, 1000, 3) } { print }'
"$bin" run "${C[@]}" --calib "$tmp/mm.toml" --out "$tmp/mm" >"$tmp/mm.log" 2>&1; rc=$?
check "defect 13: millimetres read as metres: the cameras' distance is questioned before the work" \
  $(has "$tmp/mm.log" "m apart (median): if the translations are in millimetres")
check "defect 13: ... the diagnosis says millimetres on stderr" $(has "$tmp/mm.log" "probably in millimetres (--translation_unit mm)")
check "defect 13: ... and in the summary" $(has "$tmp/mm/sequence_summary.json" "probably in millimetres")
check "defect 13: ... every bad_loss frame has a message" \
  $([ "$(grep -c '"fit_status": "bad_loss"' "$tmp/mm/sequence_summary.json")" = "$(grep -A1 '"fit_status": "bad_loss"' "$tmp/mm/sequence_summary.json" | grep -c '"message": "')" ]; echo $?)
echo "  millimetres read as metres: exit $rc, $(grep -c '"fit_status": "ok"' "$tmp/mm/sequence_summary.json") frames ok"
"$bin" run "${C[@]}" --calib "$tmp/mm.toml" --translation_unit mm --out "$tmp/mm_ok" >"$tmp/ok.log" 2>&1
check "defect 13: with --translation_unit mm the run succeeds" $?
check "defect 13: ... without a diagnosis" $(has "$tmp/mm_ok/sequence_summary.json" '"diagnosis": \[\]')
# half resolution: the calibration says 2x the image size (and 2x the focal length and centre)
calib_map "$tmp/cap/calibration.toml" "$tmp/double.toml" \
  '/^size/ { $0 = scale($0, 2, 2) } /^matrix/ { $0 = scale($0, 2, 6) } { print }'
"$bin" run "${C[@]}" --calib "$tmp/double.toml" --out "$tmp/half" >"$tmp/half.log" 2>&1; rc=$?
echo "  keypoints at half the calibrated resolution: exit $rc"
check "defect 13: keypoints at half the calibrated resolution are explained" \
  $(has "$tmp/half.log" "top-left quarter of the calibrated image (3840x2160")
check "defect 13: ... in the summary too" $(has "$tmp/half/sequence_summary.json" "half that resolution")
finish
