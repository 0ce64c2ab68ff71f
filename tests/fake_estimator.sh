#!/bin/sh
# A stand-in for a SAM 3D Body estimator command, for the ingest tests:
#   fake_estimator.sh SOURCE IMAGE OUTPUT
# copies SOURCE to OUTPUT, unless the image's content starts with "fail" (exit status 3) or
# "silent" (exit 0 without writing anything). Appends IMAGE to $FAKE_ESTIMATOR_LOG when set.
src=$1 image=$2 output=$3
[ -n "${FAKE_ESTIMATOR_LOG:-}" ] && echo "$image" >>"$FAKE_ESTIMATOR_LOG"
case "$(head -c 6 "$image")" in
  fail*) echo "fake estimator: cannot process $image" >&2; exit 3 ;;
  silent) exit 0 ;;
esac
cp "$src" "$output"
