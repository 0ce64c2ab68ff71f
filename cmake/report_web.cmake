# The HTML report's web files (src/report/web) and three.js (npm package `three`, pinned in
# package.json) embedded into the library as C data at build time: the report page is one
# self-contained file. `npm ci` in the project folder installs three.js (scripts/deps runs it).
set(MHRFIT_NODE_MODULES ${PROJECT_SOURCE_DIR}/node_modules)
set(MHRFIT_THREE ${MHRFIT_NODE_MODULES}/three)
file(READ ${PROJECT_SOURCE_DIR}/package.json MHRFIT_PACKAGE_JSON)
string(JSON MHRFIT_THREE_WANTED GET "${MHRFIT_PACKAGE_JSON}" dependencies three)
if(NOT EXISTS ${MHRFIT_THREE}/package.json)
  message(FATAL_ERROR "three.js is not installed (${MHRFIT_THREE} is missing): the HTML report embeds it at "
                      "build time. Run 'npm ci' in ${PROJECT_SOURCE_DIR} (scripts/deps does).")
endif()
file(READ ${MHRFIT_THREE}/package.json MHRFIT_THREE_PACKAGE)
string(JSON MHRFIT_THREE_VERSION GET "${MHRFIT_THREE_PACKAGE}" version)
if(NOT MHRFIT_THREE_VERSION STREQUAL MHRFIT_THREE_WANTED)
  message(FATAL_ERROR "three.js ${MHRFIT_THREE_VERSION} is installed in ${MHRFIT_NODE_MODULES}, package.json pins "
                      "${MHRFIT_THREE_WANTED}: run 'npm ci' in ${PROJECT_SOURCE_DIR}.")
endif()

set(MHRFIT_WEB ${PROJECT_SOURCE_DIR}/src/report/web)
# Module id = file: the import map of the page maps each id to the module's text.
set(MHRFIT_WEB_MODULES
  three/build/three.core.js=${MHRFIT_THREE}/build/three.core.js
  three/build/three.module.js=${MHRFIT_THREE}/build/three.module.js
  three/examples/jsm/controls/OrbitControls.js=${MHRFIT_THREE}/examples/jsm/controls/OrbitControls.js
  three/examples/jsm/loaders/GLTFLoader.js=${MHRFIT_THREE}/examples/jsm/loaders/GLTFLoader.js
  three/examples/jsm/utils/BufferGeometryUtils.js=${MHRFIT_THREE}/examples/jsm/utils/BufferGeometryUtils.js
  three/examples/jsm/utils/SkeletonUtils.js=${MHRFIT_THREE}/examples/jsm/utils/SkeletonUtils.js
  mhrfit/data.js=${MHRFIT_WEB}/data.js
  mhrfit/view3d.js=${MHRFIT_WEB}/view3d.js
  mhrfit/panels.js=${MHRFIT_WEB}/panels.js
  mhrfit/charts.js=${MHRFIT_WEB}/charts.js
  mhrfit/app.js=${MHRFIT_WEB}/app.js)
set(MHRFIT_WEB_DEPENDS ${MHRFIT_WEB}/report.html ${MHRFIT_WEB}/report.css ${MHRFIT_WEB}/loader.js)
foreach(m ${MHRFIT_WEB_MODULES})
  string(REGEX REPLACE "^[^=]*=" "" f ${m})
  list(APPEND MHRFIT_WEB_DEPENDS ${f})
endforeach()

add_executable(mhrfit_embed_web ${PROJECT_SOURCE_DIR}/src/report/tools/embed.c)
target_link_libraries(mhrfit_embed_web PRIVATE ZLIB::ZLIB)
add_custom_command(
  OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/report_web.c
  COMMAND mhrfit_embed_web ${CMAKE_CURRENT_BINARY_DIR}/report_web.c ${MHRFIT_WEB}/report.html
          ${MHRFIT_WEB}/report.css ${MHRFIT_WEB}/loader.js ${MHRFIT_WEB_MODULES}
  DEPENDS mhrfit_embed_web ${MHRFIT_WEB_DEPENDS}
  COMMENT "Embedding the report's web files and three.js ${MHRFIT_THREE_VERSION}"
  VERBATIM)
set_source_files_properties(${CMAKE_CURRENT_BINARY_DIR}/report_web.c PROPERTIES COMPILE_OPTIONS -Wno-overlength-strings)
target_sources(mhrfit_lib PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/report_web.c)
