#!/usr/bin/env bash
# The new-user walk-through of issue 17: the README's own-capture commands (the block after
# "own-capture commands", run as they are written) on a copy of the demo capture laid out as a
# user would have it: camera files named cam01..cam04 (not the calibration's names), a
# calibration in millimetres, extra folders (videos/, notes/); each command's messages checked.
# Also the <cam>/<frame> layout and a rerun.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/testlib.sh"
readme="$here/../README.md"
mkdir -p "$tmp/user"
demo "$tmp/demo" 12 5; check "demo" $?
cp -r "$tmp/demo" "$tmp/user/capture"
mv "$tmp/user/capture/calibration.toml" "$tmp/user/capture/ground_truth.npz" "$tmp/user/capture/README.txt" "$tmp/"
for f in "$tmp/user/capture"/0*; do
  for i in 0 1 2 3; do [ -e "$f/cam_$i.npz" ] && mv "$f/cam_$i.npz" "$f/cam0$((i + 1)).npz"; done
done
mkdir -p "$tmp/user/capture/videos" "$tmp/user/capture/notes"
echo mp4 >"$tmp/user/capture/videos/cam01.mp4"; echo "session 1" >"$tmp/user/capture/notes/readme.txt"
calib_map "$tmp/calibration.toml" "$tmp/user/calibration.toml" '/^translation/ { $0 = scale($0, 1000, 3) } { print }'

# the commands of the README block, in order
mapfile -t cmds < <(sed -n '/<!-- own-capture commands/,/^```$/p' "$readme" | grep '^mhrfit ' | sed 's/ *#.*$//')
check "the README has the 5 own-capture commands (found ${#cmds[@]})" $([ ${#cmds[@]} -eq 5 ]; echo $?)
cd "$tmp/user" || exit 1
for i in "${!cmds[@]}"; do
  eval "\"\$bin\" ${cmds[$i]#mhrfit }" >"$tmp/out$i" 2>"$tmp/err$i"; rc[$i]=$?
  echo "  step $i: ${cmds[$i]} -> exit ${rc[$i]}"
done
check "1: inspect lists the calibration's cameras" $([ "${rc[0]}" = 0 ] && grep -q "cam_0.matrix" "$tmp/out0"; echo $?)
check "2: the plain run fails (exit 1)" $([ "${rc[1]}" = 1 ]; echo $?)
check "2: ... saying where it looked" $(has "$tmp/err1" "no frame folder holds a file of the cameras cam_0, cam_1, cam_2, cam_3")
check "2: ... naming the files it found and the --cam_map to use" \
  $(has "$tmp/err1" "files named cam01, cam02, cam03, cam04: if those are the cameras, map them .* cam01=cam_0 cam02=cam_1")
check "3: with --cam_map the distance of the cameras is questioned first" \
  $(has "$tmp/err2" "m apart (median): if the translations are in millimetres or centimetres, pass --translation_unit mm|cm")
check "3: ... the diagnosis says millimetres" $(has "$tmp/err2" "probably in millimetres (--translation_unit mm)")
check "3: ... and no frame is fitted (exit 1)" $([ "${rc[2]}" = 1 ] && grep -q "no frame of capture was fitted" "$tmp/err2"; echo $?)
check "4: with the unit the run succeeds" $([ "${rc[3]}" = 0 ]; echo $?)
check "4: ... naming the folders that are not frames, once" \
  $([ "$(grep -c "not frames" "$tmp/out3")" = 1 ] && grep -q "2 folder(s) of capture are not frames (no camera file): notes, videos" "$tmp/out3"; echo $?)
check "4: ... fitting the frames" $(has "$tmp/out3" "^status: ok 1[01]")
check "4: ... naming the recovered frame" $(has "$tmp/out3" "^recovered: 0000[0-9][0-9] (was missing_views)")
check "4: ... no warning" $(! grep -q "warning\|error" "$tmp/err3"; echo $?)
check "4: ... the final progress lines (not a terminal)" \
  $(grep -q "^stage 1: 1[12]/1[12] frames" "$tmp/err3" && grep -q "^run: 1[12]/1[12] frames" "$tmp/err3"; echo $?)
check "5: the smoothed sequence describes itself" \
  $([ "${rc[4]}" = 0 ] && grep -q "frame_names .*(12,)" "$tmp/out4" && grep -q "world_up" "$tmp/out4" && grep -q "keypoint_names" "$tmp/out4"; echo $?)
# again: every frame reused
eval "\"\$bin\" ${cmds[3]#mhrfit }" >"$tmp/again" 2>&1
check "a rerun reuses every fit" $(has "$tmp/again" "(12 fits reused)")
# the same files laid out <cam>/<frame>
mkdir -p "$tmp/user/bycam"
for f in capture/0*; do for c in cam01 cam02 cam03 cam04; do
  [ -e "$f/$c.npz" ] && mkdir -p "bycam/$c" && cp "$f/$c.npz" "bycam/$c/$(basename "$f").npz"
done; done
"$bin" run --input bycam --calib calibration.toml --translation_unit mm --out run2 \
  --cam_map cam01=cam_0 cam02=cam_1 cam03=cam_2 cam04=cam_3 >"$tmp/out5" 2>&1; rc=$?
check "a <cam>/<frame> layout fails (exit 1, got $rc)" $([ $rc -eq 1 ]; echo $?)
check "... and says how to arrange it" $(has "$tmp/out5" "laid out as <cam>/<frame> must be arranged as <frame>/<cam>.<ext>")

# the README's Export block on the runs scripts/setup makes (build/demo_run/{default,freeze_lower_body}),
# run as written from a folder laid out as the repository's, and export of the folder of runs itself
mkdir -p "$tmp/repo/build" && ln -s "$bin" "$tmp/repo/build/mhrfit" && cd "$tmp/repo" || exit 1
"$bin" demo --out build/demo_capture --num_frames 12 --run --run_out build/demo_run >/dev/null 2>&1
check "demo --run into build/demo_run" $?
mapfile -t cmds < <(sed -n '/^On the run `scripts\/setup` made/,/^```$/p' "$readme" | grep '^build/mhrfit ' | sed 's/ *#.*$//')
check "the README's Export block has 6 commands (found ${#cmds[@]})" $([ ${#cmds[@]} -eq 6 ]; echo $?)
for c in "${cmds[@]}"; do
  eval "$c" >"$tmp/outx" 2>&1
  check "README export command exits 0: $c" $?
done
"$bin" export --input build/demo_run --out x.glb >"$tmp/outx" 2>&1; rc=$?
check "export of the folder of runs: exit 1, naming its runs" $([ $rc -eq 1 ] && [ "$(has "$tmp/outx" "build/demo_run: neither sequence_smoothed.npz nor sequence_fit.npz: it holds the run folders build/demo_run/default, build/demo_run/freeze_lower_body; pass one of them")" = 0 ]; echo $?)
# the README's demo-capture block, run as written (the folder names it gives; 12 frames instead of 120)
mapfile -t cmds < <(sed -n '/^## The whole pipeline on a demo capture/,/^```$/p' "$readme" | sed -e :a -e '/\\$/N; s/\\\n//; ta' |
  grep '^build/mhrfit ' | sed -e 's/ *#.*$//' -e 's/ \[--freeze_lower_body\]//')
check "the README's demo-capture block has 4 commands (found ${#cmds[@]})" $([ ${#cmds[@]} -eq 4 ]; echo $?)
for c in "${cmds[@]}"; do
  [[ $c == "build/mhrfit demo "* ]] && c="$c --num_frames 12"
  eval "$c" >"$tmp/outx" 2>&1
  check "README demo-capture command exits 0: $c" $?
done
finish
