# Include-boundary tests; included from tests/CMakeLists.txt.
#   boundaries.includes  the repository's includes respect the dependency rules (STYLE.md)
#   boundaries.selftest  the check fails on a planted violation of each rule, passes a clean tree
set(_zlh_boundaries ${CMAKE_CURRENT_LIST_DIR})

add_test(NAME boundaries.includes
         COMMAND bash ${_zlh_boundaries}/check_includes.sh ${ZLH_ROOT})
add_test(NAME boundaries.selftest
         COMMAND bash ${_zlh_boundaries}/selftest.sh)
set_tests_properties(boundaries.includes boundaries.selftest PROPERTIES TIMEOUT 60)
