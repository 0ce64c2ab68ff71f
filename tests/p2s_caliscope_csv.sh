#!/usr/bin/env bash
# Writes Pose2Sim's balancing trial (its OpenPose BODY_25B JSON of cameras 1-4) as Caliscope's
# xy_<TRACKER>.csv: one row per detected point (likelihood > 0), port = camera number, the
# frame's position in its folder as sync index, Head (point 18) left out. For the tests.
#   p2s_caliscope_csv.sh TRIAL_DIR OUT.csv
set -euo pipefail
trial=$1
{
  echo "sync_index,port,frame_index,frame_time,point_id,img_loc_x,img_loc_y,obj_loc_x,obj_loc_y"
  for c in 1 2 3 4; do # each JSON file is one line: one record per file, frames in file order
    awk -v c=$c 'FNR == 1 { f++ }
      { if (!match($0, /"pose_keypoints_2d": *\[[^]]*\]/)) next
        s = substr($0, RSTART, RLENGTH); sub(/.*\[/, "", s); sub(/\]/, "", s); n = split(s, v, /, */)
        for (k = 0; 3 * k + 3 <= n; k++)
          if (v[3*k+3] > 0 && k != 18)
            printf "%d,%d,%d,%.4f,%d,%s,%s,,\n", f - 1, c, f - 1, (f - 1) / 60, k, v[3*k+1], v[3*k+2] }' \
      "$trial"/pose-associated/cam0${c}_json/*.json
  done
} >"$2"
