"""The ctypes structures of the package against the C headers: a C program compiled here prints the
size of every mirrored struct and the offset of every field, which must equal ctypes'."""

import ctypes
import os
import subprocess
import unittest

from mhrfit import _lib as L
from helpers import ROOT, plain_env, tmp_path


def fields(cls, prefix=""):
    """(dotted field path, ctypes offset) of every field, nested structures and unions included."""
    out = []
    for name, typ in cls._fields_:
        off = getattr(cls, name).offset
        out.append((prefix + name, off))
        if isinstance(typ, type) and issubclass(typ, (ctypes.Structure, ctypes.Union)):
            out += [(p, off + o) for p, o in fields(typ, prefix + name + ".")]
    return out


class AbiTest(unittest.TestCase):
    def test_struct_layouts(self):
        cc = os.environ.get("MHRFIT_CC", "cc")
        src, exe = tmp_path("abi.c"), tmp_path("abi")
        lines = ["#include <stddef.h>", "#include <stdio.h>", "#include \"mhrfit/mhrfit.h\"", "int main(void) {"]
        want = []
        for cls, cname in L.STRUCTS.items():
            lines.append(f'  printf("%zu\\n", sizeof({cname}));')
            want.append((f"sizeof {cname}", ctypes.sizeof(cls)))
            for path, off in fields(cls):
                lines.append(f'  printf("%zu\\n", offsetof({cname}, {path}));')
                want.append((f"{cname}.{path}", off))
        lines += ["  return 0;", "}"]
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        p = subprocess.run([cc, "-std=c17", "-I", os.path.join(ROOT, "include"), src, "-o", exe],
                           capture_output=True, text=True, env=plain_env())
        self.assertEqual(p.returncode, 0, "a mirrored field is missing from the headers:\n" + p.stderr)
        got = [int(x) for x in subprocess.run([exe], capture_output=True, text=True, check=True, env=plain_env()).stdout.split()]
        self.assertEqual(len(got), len(want))
        wrong = [f"{what}: C {c}, ctypes {py}" for (what, py), c in zip(want, got) if c != py]
        self.assertEqual(wrong, [], "ctypes layouts differ from the C headers")
        self.assertGreater(len(want), 150)


if __name__ == "__main__":
    unittest.main()
