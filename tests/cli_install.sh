#!/usr/bin/env bash
# cmake --install puts the libraries (static and shared), headers, binary and pkg-config file in a
# prefix, and a program compiled with the pkg-config flags links and runs, statically and with the
# shared library.
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
libdir=$(pkg-config --variable=libdir mhrfit)
[ -f "$libdir/libmhrfit.a" ] || { echo "FAIL: static library not installed"; exit 1; }
[ -e "$libdir/libmhrfit.so.0" ] || { echo "FAIL: shared library (soname libmhrfit.so.0) not installed"; exit 1; }
# static: the archive in place of -lmhrfit (which the linker resolves to the shared library)
flags=$(pkg-config --cflags --libs --static mhrfit | sed 's/-lmhrfit\b/-l:libmhrfit.a/')
# shellcheck disable=SC2086
cc -std=c17 -Wall -Werror "$tmp/use.c" -o "$tmp/use" $flags ${MHRFIT_EXTRA_LDFLAGS:-}
out=$("$tmp/use")
[ "$out" = "3 float64" ] || { echo "FAIL: unexpected output '$out' (static)"; exit 1; }
# shared: plain pkg-config flags, the library found at run time in the prefix
# shellcheck disable=SC2046
cc -std=c17 -Wall -Werror "$tmp/use.c" -o "$tmp/use_so" $(pkg-config --cflags --libs mhrfit) ${MHRFIT_EXTRA_LDFLAGS:-}
grep -q "libmhrfit.so.0" <<<"$(ldd "$tmp/use_so")" || { echo "FAIL: not linked to libmhrfit.so.0"; exit 1; }
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/use_so")
[ "$out" = "3 float64" ] || { echo "FAIL: unexpected output '$out' (shared)"; exit 1; }
echo "2 passed, 0 failed"
