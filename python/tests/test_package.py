"""The package around the library: finding libmhrfit, versions, exported symbols, installation."""

import os
import re
import shutil
import subprocess
import sys
import unittest

import mhrfit
from helpers import ASSETS, BIN, ROOT, demo, plain_env, tmp_path

PKG = os.path.join(ROOT, "python")


def run_python(args, env_update, cwd=None, path=PKG):
    env = {k: v for k, v in os.environ.items() if k not in ("MHRFIT_LIBRARY", "PKG_CONFIG_PATH")}
    env.update({"PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(env_update)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd or tmp_path())


class PackageTest(unittest.TestCase):
    def test_version_is_the_command_lines(self):
        cli_version = subprocess.run([BIN, "--version"], capture_output=True, text=True, env=plain_env()).stdout.split()[1]
        self.assertEqual(mhrfit.library_version(), cli_version)
        self.assertEqual(mhrfit.__version__, cli_version)
        with open(os.path.join(PKG, "pyproject.toml")) as f:
            self.assertIn(f'version = "{cli_version}"', f.read())
        p = run_python(["-m", "mhrfit", "--version"], {"MHRFIT_LIBRARY": mhrfit.library_path()})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith(f"mhrfit {cli_version} (library "), p.stdout)

    def test_only_the_public_api_is_exported(self):
        nm = shutil.which("nm")
        self.assertIsNotNone(nm, "nm (binutils) is needed")
        out = subprocess.run([nm, "-D", "--defined-only", mhrfit.library_path()], capture_output=True, text=True,
                             check=True, env=plain_env()).stdout
        names = [line.split()[-1] for line in out.splitlines() if line.strip()]
        self.assertGreater(len(names), 100)
        self.assertEqual([n for n in names if not n.startswith("mhrfit_")], [])
        for fn in ("mhrfit_triangulator_process", "mhrfit_sam3d_evaluator_process", "mhrfit_version"):
            self.assertIn(fn, names)

    def test_missing_library(self):
        bad = tmp_path("no_such_dir", "libmhrfit.so")
        code = "import mhrfit\ntry:\n    mhrfit.Rig()\nexcept mhrfit.LibraryNotFoundError as e:\n    print('E', e)\n"
        p = run_python(["-c", code], {"MHRFIT_LIBRARY": bad, "MHRFIT_ASSETS": "x"})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("E libmhrfit could not be loaded", p.stdout)
        self.assertIn(bad, p.stdout)
        p = run_python(["-m", "mhrfit", "--version"], {"MHRFIT_LIBRARY": bad})
        self.assertEqual(p.returncode, 1)
        self.assertIn("MHRFIT_LIBRARY", p.stderr)
        not_lib = tmp_path("not_a_library.so")
        with open(not_lib, "w") as f:
            f.write("text")
        p = run_python(["-m", "mhrfit", "--version"], {"MHRFIT_LIBRARY": not_lib})
        self.assertEqual(p.returncode, 1)
        self.assertIn("not_a_library.so", p.stderr)

    def test_pip_install_and_library_discovery(self):
        """The README's install commands, exactly (a venv seeing the system's NumPy, pip install
        offline without build isolation), run from a copy of the project's python/ with this test's
        interpreter as python3; the library then found through MHRFIT_LIBRARY, next to the package,
        and through pkg-config after cmake --install."""
        proj, prefix, shim = tmp_path("proj"), tmp_path("prefix"), tmp_path("shim")
        for d in (proj, prefix, shim):
            shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(PKG, os.path.join(proj, "python"),
                        ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info", "tests"))
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        commands = [line.split("  #")[0].strip() for line in readme.splitlines()
                    if line.startswith(("python3 -m venv ", ".venv/bin/pip install "))]
        self.assertEqual(commands, ["python3 -m venv --system-site-packages .venv",
                                    ".venv/bin/pip install --no-build-isolation ./python"])
        os.makedirs(shim)
        os.symlink(sys.executable, os.path.join(shim, "python3"))
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MHRFIT_LIBRARY", "PKG_CONFIG_PATH")}
        env.update({"PATH": shim + os.pathsep + env.get("PATH", ""), "PIP_NO_INDEX": "1",
                    "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        for cmd in commands:
            p = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, env=env, cwd=proj)
            self.assertEqual(p.returncode, 0, f"{cmd}:\n{p.stdout}{p.stderr}")
        venv_python = os.path.join(proj, ".venv", "bin", "python")
        found = subprocess.run([venv_python, "-c", "import mhrfit, numpy; print(mhrfit.__file__)"], capture_output=True,
                               text=True, env=env, cwd=proj)
        self.assertEqual(found.returncode, 0, found.stderr)
        target = os.path.dirname(os.path.dirname(found.stdout.strip()))  # the venv's site-packages
        self.assertIn(os.path.join(proj, ".venv"), target)
        lib = os.path.realpath(mhrfit.library_path())
        version = mhrfit.library_version()

        def run_python(args, env_update, path=None, python=venv_python):  # the installed package, no PYTHONPATH
            e = {k: v for k, v in env.items() if k != "PYTHONPATH"}
            e.update(env_update)
            return subprocess.run([python, *args], capture_output=True, text=True, env=e, cwd=proj)
        p = run_python(["-m", "mhrfit", "--version"], {"MHRFIT_LIBRARY": lib})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"mhrfit {version}", p.stdout)
        # pkg-config: an installed prefix
        build = os.environ.get("MHRFIT_BUILD_DIR", os.path.join(ROOT, "build"))
        subprocess.run(["cmake", "--install", build, "--prefix", prefix], check=True, capture_output=True,
                       env=plain_env())
        pc = [os.path.join(r, f) for r, _, fs in os.walk(prefix) for f in fs if f == "mhrfit.pc"]
        self.assertEqual(len(pc), 1)
        p = run_python(["-m", "mhrfit", "--version"], {"PKG_CONFIG_PATH": os.path.dirname(pc[0])}, path=target)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(os.path.realpath(prefix), os.path.realpath(re.search(r"library (\S+),", p.stdout).group(1)))
        # next to the package
        shutil.copy(lib, os.path.join(target, "mhrfit", "libmhrfit.so"))
        p = run_python(["-m", "mhrfit", "--version"], {"PKG_CONFIG_PATH": tmp_path("nothing")}, path=target)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(os.path.join(target, "mhrfit", "libmhrfit.so"), p.stdout)

    def test_example(self):
        """python/examples/sam3d_multiview.py on the demo capture: triangulate, fit, FK, a PLY mesh
        written by mhrfit.export, the same bytes as `mhrfit export` of the fit it saved."""
        out = tmp_path("example_body.ply")
        p = run_python([os.path.join(PKG, "examples", "sam3d_multiview.py"), demo(), "--frame", "000003", "--out", out,
                        "--assets", ASSETS], {"MHRFIT_LIBRARY": mhrfit.library_path()})
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("fit: status ok", p.stdout)
        diff = float(re.search(r"largest difference to the fit's mesh ([0-9.]+) mm", p.stdout).group(1))
        self.assertLess(diff, 0.01)
        n = mhrfit.Rig(ASSETS).n_vertices
        self.assertIn(f"wrote {out} (ply): {n} vertices", p.stdout)
        with open(out, "rb") as f:
            ply = f.read()
        self.assertIn(f"\nelement vertex {n}\n".encode(), ply[:ply.index(b"end_header")])
        fit = tmp_path("example_body_fit.npz")
        cli_out = tmp_path("example_body_cli.ply")
        subprocess.run([BIN, "export", "--input", fit, "--out", cli_out, "--assets", ASSETS, "--quiet"], check=True,
                       env=plain_env())
        with open(cli_out, "rb") as f:
            self.assertEqual(ply, f.read())


if __name__ == "__main__":
    unittest.main()
