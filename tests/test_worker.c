/* The estimator workers' reply lines: every kind the protocol knows (include/mhrfit/ingest.h). */
#include <string.h>

#include "harness.h"
#include "ingest/worker.h"

static mf_reply_kind parse(const char *line, unsigned long long id, char *text) {
  return mf_worker_parse_reply(line, strlen(line), id, text, 256);
}

static void test_reply_kinds(void) {
  char text[256];
  CHECK(parse("{\"ok\": true}", 7, text) == MF_REPLY_OK);
  CHECK(parse("{\"ok\":true,\"id\":7,\"persons\":2}", 7, text) == MF_REPLY_OK);
  CHECK(parse("  {\"id\": null, \"ok\": true}  ", 7, text) == MF_REPLY_OK);
  CHECK(parse("{\"ok\": false, \"error\": \"no person\"}", 7, text) == MF_REPLY_FAIL);
  CHECK_STR(text, "no person");
  CHECK(parse("{\"ok\": false}", 7, text) == MF_REPLY_FAIL);
  CHECK_CONTAINS(text, "without an \"error\" text");
  CHECK(parse("{\"ready\": true}", 7, text) == MF_REPLY_READY);
  CHECK(parse("{\"id\": 6, \"ok\": true}", 7, text) == MF_REPLY_STALE);
  CHECK(parse("{\"id\": \"7\", \"ok\": true}", 7, text) == MF_REPLY_STALE);
  CHECK(parse("this is not json", 7, text) == MF_REPLY_INVALID);
  CHECK_STR(text, "not a JSON object: 'this is not json'");
  CHECK(parse("[1, 2]", 7, text) == MF_REPLY_INVALID);
  CHECK(parse("{\"ok\": 1}", 7, text) == MF_REPLY_INVALID);
  CHECK_CONTAINS(text, "no boolean \"ok\"");
  CHECK(parse("{\"ok\": true", 7, text) == MF_REPLY_INVALID);
  CHECK(parse("", 7, text) == MF_REPLY_INVALID);
  /* a long garbage line is quoted cut short */
  char longline[1000];
  memset(longline, 'x', sizeof longline - 1);
  longline[sizeof longline - 1] = '\0';
  CHECK(parse(longline, 1, text) == MF_REPLY_INVALID);
  CHECK(strlen(text) < 256);
  CHECK_CONTAINS(text, "...");
  /* the length bounds the line: bytes past it are not read */
  CHECK(mf_worker_parse_reply("{\"ok\": true}garbage", 12, 1, text, sizeof text) == MF_REPLY_OK);
}

int main(void) {
  RUN(test_reply_kinds);
  return test_report();
}
