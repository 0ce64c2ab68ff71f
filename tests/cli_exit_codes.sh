#!/usr/bin/env bash
# Exit codes and option names the same in every command (issue 17, defect 4's cross-command part
# and the "one name per concept" friction): usage errors, including bad option values such as
# --fps 0 or a cutoff at or above Nyquist, exit 2 before any work in every command; runtime
# failures exit 1; the README's exit-code table lists every command; old option names stay
# aliases (--rate, --force, --in); --quiet has one meaning; inspect FILE KEY prints arrays; fit
# warns when --views is another frame than --tri.
set -uo pipefail
bin=${MHRFIT_BIN:?}
assets=${MHRFIT_ASSETS:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { # description, condition-result
  if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi
}
expect() { # description expected-code command... (stderr kept in $tmp/err)
  local desc=$1 want=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; local got=$?
  if [ "$got" -eq "$want" ]; then pass=$((pass+1)); else
    fail=$((fail+1)); echo "FAIL: $desc: exit $got, want $want"; cat "$tmp/err"; fi
}
export MHRFIT_ASSETS="$assets"

# usage errors: option values refused with 2, naming the option, before reading any file
# (the files named here do not exist: a runtime failure would be 1)
T=(--calib "$tmp/none.toml" --cams a b --input "$tmp" --out "$tmp/t.npz")
R=(--input "$tmp" --calib "$tmp/none.toml" --cams a b --out "$tmp/run")
S=(--input "$tmp/none.npz" --out "$tmp/s.npz")
F=(--tri "$tmp/none.npz" --views "$tmp" --out "$tmp/f.npz")
while IFS='|' read -r desc opt args; do
  # shellcheck disable=SC2086
  expect "usage error: $desc" 2 "$bin" $args
  check "usage error names $opt: $desc" $(grep -q -- "$opt" "$tmp/err"; echo $?)
done <<EOF
triangulate --fps 0|--fps|triangulate ${T[*]} --fps 0
triangulate --rate -5 (old name)|--fps|triangulate ${T[*]} --rate -5
triangulate --inlier_thresh 0|inlier_thresh|triangulate ${T[*]} --inlier_thresh 0
triangulate --min_angle 90|min_angle|triangulate ${T[*]} --min_angle 90
triangulate --lm_iters -1|--lm_iters|triangulate ${T[*]} --lm_iters -1
triangulate --min_cameras 1|--min_cameras|triangulate ${T[*]} --min_cameras 1
triangulate --person_index -1|--person_index|triangulate ${T[*]} --person_index -1
triangulate --translation_unit km|--translation_unit|triangulate ${T[*]} --translation_unit km
triangulate --input_format csv|--input_format|triangulate ${T[*]} --input_format csv
fit --huber_m 0|huber_m|fit ${F[*]} --huber_m 0
fit --temporal_init_blend 2|temporal_init_blend|fit ${F[*]} --temporal_init_blend 2
fit --iters -1|--iters|fit ${F[*]} --iters -1
fit --max_stale_frames -1|--max_stale_frames|fit ${F[*]} --max_stale_frames -1
fit --lod -2|--lod|fit ${F[*]} --lod -2
smooth --fps 0|--fps|smooth ${S[*]} --fps 0
smooth --cutoff_hz 20 --fps 30 (>= Nyquist)|Nyquist|smooth ${S[*]} --cutoff_hz 20 --fps 30
smooth --cutoff_hz 5 --fps 8|Nyquist|smooth ${S[*]} --cutoff_hz 5 --fps 8
smooth --butter_order 9|--butter_order|smooth ${S[*]} --butter_order 9
smooth --smoothing_alpha 1.5|--smoothing_alpha|smooth ${S[*]} --smoothing_alpha 1.5 --smooth_method original
smooth --smoothing_median_window -3|--smoothing_median_window|smooth ${S[*]} --smoothing_median_window -3
run --fps 0|--fps|run ${R[*]} --fps 0
run --cutoff_hz 20|Nyquist|run ${R[*]} --cutoff_hz 20
run --min_valid_points 2|--min_valid_points|run ${R[*]} --min_valid_points 2
run --reproj_thresh -1|reproj_thresh|run ${R[*]} --reproj_thresh -1
ingest --person_index -1|--person_index|ingest --input $tmp --cams a --out $tmp/i --person_index -1
ingest --max_inflated_mib 0|--max_inflated_mib|ingest --input $tmp --cams a --out $tmp/i --max_inflated_mib 0
inspect --max_inflated_mib 0|--max_inflated_mib|inspect $tmp/none.npz --max_inflated_mib 0
demo --num_frames 0|--num_frames|demo --out $tmp/d --num_frames 0
demo --fps 0|fps|demo --out $tmp/d --fps 0
demo --lod -4|--lod|demo --out $tmp/d --lod -4
rig info --lod -4|--lod|rig info --lod -4
rig fk --lod -4|--lod|rig fk --params $tmp/none.npz --out $tmp/fk.npz --lod -4
rig import --lod -4|--lod|rig import --out $tmp/r.npz --lod -4
export --fps 0|--fps|export --input $tmp/none --out $tmp/e.glb --fps 0
overlay --fps 0|--fps|overlay --run $tmp/none --out $tmp/ov --fps 0
overlay --fps -1|--fps|overlay --run $tmp/none --out $tmp/ov --fps -1
report --image_width 0|--image_width|report --run $tmp/none --image_width 0
report --lod 9|--lod|report --run $tmp/none --lod 9
frames --quality 0|--quality|frames --videos a=$tmp/none.mp4 --out $tmp/fr --quality 0
frames --every 0|--every|frames --videos a=$tmp/none.mp4 --out $tmp/fr --every 0
export --up sideways|--up|export --input $tmp/none --out $tmp/e.glb --up sideways
export --max_influences 5|--max_influences|export --input $tmp/none --out $tmp/e.glb --max_influences 5
EOF
check "a usage error leaves no output behind" $([ ! -e "$tmp/run" ] && [ ! -e "$tmp/d" ] && [ ! -e "$tmp/i" ] && [ ! -e "$tmp/ov" ]; echo $?)

# every command: --help 0, an unknown option 2, a missing input 1
for cmd in demo ingest inspect "rig info" "rig fk" "rig import" triangulate fit run smooth export frames report overlay; do
  # shellcheck disable=SC2086
  expect "$cmd --help" 0 "$bin" $cmd --help
  # shellcheck disable=SC2086
  expect "$cmd: unknown option" 2 "$bin" $cmd --no-such-option
done
expect "inspect: missing file" 1 "$bin" inspect "$tmp/none.npz"
expect "triangulate: missing calibration" 1 "$bin" triangulate "${T[@]}"
expect "fit: missing triangulation" 1 "$bin" fit "${F[@]}"
expect "smooth: missing sequence" 1 "$bin" smooth "${S[@]}"
expect "rig fk: missing parameters" 1 "$bin" rig fk --params "$tmp/none.npz" --out "$tmp/fk.npz"
expect "ingest: missing input folder" 1 "$bin" ingest --input "$tmp/none" --cams a --out "$tmp/i2"
expect "overlay: missing run folder" 1 "$bin" overlay --run "$tmp/none" --out "$tmp/ov2"

# the README's exit-code table names every command of mhrfit --help
readme="$(dirname "$0")/../README.md"
table=$(sed -n '/^## Exit status/,/^## /p' "$readme")
check "README has an exit-status section" $([ -n "$table" ]; echo $?)
for cmd in $("$bin" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF && $1 != "Commands:" {print $1}'); do
  check "README exit-status table lists $cmd" $(grep -q "^| \`$cmd" <<<"$table"; echo $?)
done

# one name per concept, old names kept; --quiet means the same everywhere
h=$("$bin" triangulate --help)
check "triangulate --help: --fps (also --rate)" $(grep -q -- '--fps HZ .*(also --rate)' <<<"$h"; echo $?)
check "ingest --help: --overwrite (also --force)" $("$bin" ingest --help | grep -q -- '--overwrite .*(also --force)'; echo $?)
check "smooth --help: --input (also --in)" $("$bin" smooth --help | grep -q -- '--input FIT.npz .*(also --in)'; echo $?)
expect "smooth --in is still accepted" 2 "$bin" smooth --in "$tmp/x.npz" --out "$tmp/y.npz" --fps 0
check "smooth --in reaches the value check" $(grep -q -- '--fps must be' "$tmp/err"; echo $?)
quiet_lines=$(for cmd in demo ingest triangulate fit smooth "rig import" export frames run report; do
  # shellcheck disable=SC2086
  "$bin" $cmd --help | grep -- '--quiet' | sed 's/ (--run still prints its table[^)]*)//'; done | sort -u)
check "--quiet: one help text in every command" $([ "$(wc -l <<<"$quiet_lines")" -eq 1 ]; echo $?)

# inspect FILE KEY...; fit --views from another frame than --tri warns
"$bin" demo --out "$tmp/cap" --num_frames 2 --num_cams 3 --no_missing_views --quiet
check "demo capture written" $?
cams=(cam_0 cam_1 cam_2)
"$bin" triangulate --calib "$tmp/cap/calibration.toml" --cams "${cams[@]}" --input "$tmp/cap/000000" \
  --out "$tmp/t0.npz" --quiet
check "triangulate frame 0" $?
out=$("$bin" inspect "$tmp/t0.npz" cams source_frames); rc=$?
check "inspect FILE KEY... exits 0" $rc
check "inspect KEY prints the values" $(grep -q '^\["cam_0", "cam_1", "cam_2"\]$' <<<"$out" && grep -q '^\["000000"\]$' <<<"$out"; echo $?)
out=$("$bin" inspect "$tmp/t0.npz" points3d_refined | sed -n '2p')
check "inspect KEY prints an array row by row" $(grep -q '^\[0\] \[' <<<"$out"; echo $?)
expect "inspect: unknown KEY" 1 "$bin" inspect "$tmp/t0.npz" no_such_key
check "unknown KEY is named" $(grep -q "no key 'no_such_key'" "$tmp/err"; echo $?)
expect "fit with the views of another frame" 0 "$bin" fit --tri "$tmp/t0.npz" --views "$tmp/cap/000001" \
  --out "$tmp/f.npz" --quiet
check "fit warns that --views is another frame" \
  $(grep -q "warning: --views .*000001: camera 'cam_0' holds another file than frame folder '000000'" "$tmp/err"; echo $?)
expect "fit with the views of its frame" 0 "$bin" fit --tri "$tmp/t0.npz" --views "$tmp/cap/000000" \
  --out "$tmp/f.npz" --quiet
check "no warning for the right frame" $([ ! -s "$tmp/err" ]; echo $?)
# fit.npz describes itself (README "Output files"): the frame the triangulation recorded, the joint
# names, the mesh's triangles with pred_vertices, the up axis; run's per-frame files as well
out=$("$bin" inspect "$tmp/f.npz")
check "fit.npz: frame_names, joint_names, faces with pred_vertices, world_up" \
  $(grep -Eq '^frame_names +<U6 +\(1,\)' <<<"$out" && grep -Eq '^joint_names +<U[0-9]+ +\(127,\)' <<<"$out" &&
    grep -Eq '^pred_vertices ' <<<"$out" && grep -Eq '^faces +int32 +\([0-9]+, 3\)' <<<"$out" &&
    grep -Eq '^world_up ' <<<"$out"; echo $?)
check "fit.npz: the frame named is the triangulated one" $("$bin" inspect "$tmp/f.npz" frame_names | grep -q '"000000"'; echo $?)
"$bin" fit --tri "$tmp/t0.npz" --views "$tmp/cap/000000" --out "$tmp/fn.npz" --no_mesh --quiet
check "fit --no_mesh: no faces either" $(! "$bin" inspect "$tmp/fn.npz" | grep -q '^faces '; echo $?)
"$bin" run --input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --out "$tmp/run6" --no_mesh --quiet
check "run on the capture" $?
out=$("$bin" inspect "$tmp/run6/fit/000001/fit.npz")
check "run's fit/<frame>/fit.npz: frame_names, fps, joint_names, world_up" \
  $(grep -q '^frame_names ' <<<"$out" && grep -q '^fps ' <<<"$out" && grep -q '^joint_names ' <<<"$out" &&
    grep -q '^world_up ' <<<"$out" && "$bin" inspect "$tmp/run6/fit/000001/fit.npz" frame_names | grep -q '"000001"'; echo $?)
# the wrong-frame warning with run's files: a run's triangulation records its stage-1 files; the
# stage-1 files of the frame whose SAM 3D Body outputs were triangulated are the same frame
expect "fit: run's triangulation of 000000 with the stage-1 files of 000001" 0 "$bin" fit \
  --tri "$tmp/run6/triangulation/000000/triangulated.npz" --views "$tmp/run6/stage1/000001" --out "$tmp/f.npz" --quiet
check "... warns that --views is another frame" \
  $(grep -q "warning: --views .*stage1/000001: camera 'cam_0' holds another file than frame folder '000000'" "$tmp/err"; echo $?)
expect "fit: run's triangulation with the stage-1 files of its frame" 0 "$bin" fit \
  --tri "$tmp/run6/triangulation/000001/triangulated.npz" --views "$tmp/run6/stage1/000001" --out "$tmp/f.npz" --quiet
check "... no warning" $([ ! -s "$tmp/err" ]; echo $?)
expect "fit: the SAM 3D Body outputs of 000000 triangulated, its stage-1 files fitted" 0 "$bin" fit \
  --tri "$tmp/t0.npz" --views "$tmp/run6/stage1/000000" --out "$tmp/f.npz" --quiet
check "... no warning (the same frame)" $([ ! -s "$tmp/err" ]; echo $?)
"$bin" triangulate --calib "$tmp/cap/calibration.toml" --cams "${cams[@]}" --input "$tmp/cap/000000" \
  --out "$tmp/t0r.npz" --rate 25 --trc "$tmp/t.trc" --quiet
check "--rate (old name of --fps) still works" $([ $? -eq 0 ] && grep -q '^25' <(sed -n '3p' "$tmp/t.trc" | tr '\t' '\n'); echo $?)
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
