/* mhrfit inspect: list or dump the content of data files. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "mhrfit/value.h"

int mf_cmd_inspect(int argc, char **argv) {
  bool json = false;
  const mf_opt opts[] = {
      {"json", MF_OPT_FLAG, &json, NULL, "print the whole content as JSON (arrays as nested lists, NaN as null)", NULL},
  };
  const mf_cmd_spec spec = {"inspect", "FILE [--json]",
                            "Lists the arrays and keys of a .npy, .npz, pickled .npy, TOML or JSON file\n"
                            "as 'name dtype shape' lines, or prints the whole content as JSON.",
                            opts, sizeof opts / sizeof opts[0], 1, 1};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) return rc;
  mf_strlist_free(&pos);
  fprintf(stderr, "mhrfit inspect: not implemented yet\n");
  return MF_EXIT_FAILURE;
}
