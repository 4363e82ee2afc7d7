# Packaging tests; included from tests/CMakeLists.txt.
#   packaging.conffiles  the default configs in packaging/config match docs/configuration.md
#   packaging.debs       cpack -G DEB, then contents, conffiles, units (systemd-analyze verify),
#                        lintian errors (packaging/tests/check_debs.sh)
#   packaging.install    install/reinstall/remove/purge of those .debs in a throwaway overlay of
#                        this host (packaging/tests/check_install.sh)
# The last two are meaningful in the release build (CMAKE_INSTALL_PREFIX=/usr): their scripts exit
# 77, reported as skipped, in sanitizer builds and other prefixes (and packaging.install without
# root or overlayfs).
set(_zlh_pkg_tests ${CMAKE_CURRENT_LIST_DIR})

add_test(NAME packaging.conffiles
         COMMAND bash ${_zlh_pkg_tests}/check_conffiles.sh ${ZLH_ROOT})
set_tests_properties(packaging.conffiles PROPERTIES TIMEOUT 60)

add_test(NAME packaging.debs
         COMMAND bash ${_zlh_pkg_tests}/check_debs.sh ${CMAKE_BINARY_DIR})
add_test(NAME packaging.install
         COMMAND bash ${_zlh_pkg_tests}/check_install.sh ${CMAKE_BINARY_DIR})
# RUN_SERIAL: cpack strips and compresses the real binaries and lintian unpacks them, heavy on two
# cores; timing-sensitive tests should not run beside them.
set_tests_properties(packaging.debs PROPERTIES
  TIMEOUT 600 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE FIXTURES_SETUP zlh_debs)
set_tests_properties(packaging.install PROPERTIES
  TIMEOUT 300 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE FIXTURES_REQUIRED zlh_debs)
