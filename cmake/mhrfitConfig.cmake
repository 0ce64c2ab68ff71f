# CMake package file: find_package(mhrfit) then link mhrfit::mhrfit_lib.
include(CMakeFindDependencyMacro)
find_dependency(PkgConfig)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)
find_dependency(ZLIB)
include("${CMAKE_CURRENT_LIST_DIR}/mhrfitTargets.cmake")
