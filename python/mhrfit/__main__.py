"""``python3 -m mhrfit --version``: the package's and the loaded library's versions."""

import argparse
import sys

from . import LibraryNotFoundError, __version__, library_path, library_version


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m mhrfit",
                                     description="The mhrfit Python package over libmhrfit.")
    parser.add_argument("--version", action="store_true", help="print the library's version and where it was found")
    args = parser.parse_args(argv)
    if not args.version:
        parser.print_help()
        return 0
    try:
        print(f"mhrfit {library_version()} (library {library_path()}, package {__version__})")
    except LibraryNotFoundError as e:
        print(f"mhrfit: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
