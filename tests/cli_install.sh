#!/usr/bin/env bash
# cmake --install puts the library, headers, binary and pkg-config file in a prefix, and a
# program compiled with `pkg-config --cflags --libs --static mhrfit` links and runs.
set -euo pipefail
: "${MHRFIT_BUILD_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$MHRFIT_BUILD_DIR" --prefix "$tmp/prefix" >/dev/null
pc=$(find "$tmp/prefix" -name mhrfit.pc | head -n1)
[ -n "$pc" ] || { echo "FAIL: mhrfit.pc not installed"; exit 1; }
[ -x "$tmp/prefix/bin/mhrfit" ] || { echo "FAIL: binary not installed"; exit 1; }
[ -f "$tmp/prefix/include/mhrfit/error.h" ] || { echo "FAIL: headers not installed"; exit 1; }
cat > "$tmp/use.c" <<'C'
#include <mhrfit/mhrfit.h>
#include <stdio.h>
int main(void) {
  mhrfit_error err = {0};
  size_t shape[1] = {3};
  mhrfit_array *a = mhrfit_array_new(MHRFIT_DT_F64, 0, 1, shape, 0, &err);
  if (!a) return 1;
  printf("%zu %s\n", a->count, mhrfit_dtype_name(a->dtype));
  mhrfit_array_free(a);
  return 0;
}
C
export PKG_CONFIG_PATH="$(dirname "$pc")"
flags=$(pkg-config --cflags --libs --static mhrfit)
# shellcheck disable=SC2086
cc -std=c17 -Wall -Werror "$tmp/use.c" -o "$tmp/use" $flags ${MHRFIT_EXTRA_LDFLAGS:-}
out=$("$tmp/use")
[ "$out" = "3 float64" ] || { echo "FAIL: unexpected output '$out'"; exit 1; }
echo "1 passed, 0 failed"
