# Debian packages: zlh-agent_<ver>_<arch>.deb and zlh-coordinator_<ver>_<arch>.deb, one per
# install component ("agent", "coordinator"). Included at the end of the top-level CMakeLists.txt.
#   cmake --preset release && cmake --build --preset release && (cd build/release && cpack -G DEB)
# What each package holds, and why: docs/packaging.md. The check: packaging/tests/check_debs.sh.

# The units, conffiles and maintainer scripts name /usr/bin, /etc and /var/lib: a .deb is built
# only from a tree configured for /usr (the release preset).
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "packaging: CMAKE_INSTALL_PREFIX is ${CMAKE_INSTALL_PREFIX}, not /usr: "
                 "no Debian packaging in this tree (use the release preset)")
  return()
endif()

set(ZLH_DEB_MAINTAINER "zlh maintainers <maintainers@zlh.example>"
    CACHE STRING "Maintainer field of the Debian packages")

set(_zlh_pkg_src ${CMAKE_CURRENT_LIST_DIR})
set(_zlh_pkg_bin ${CMAKE_BINARY_DIR}/packaging)
set(_zlh_deb_components "")
if(ZLH_WITH_AGENT)
  list(APPEND _zlh_deb_components agent)
endif()
if(ZLH_WITH_COORDINATOR)
  list(APPEND _zlh_deb_components coordinator)
endif()

# The changelog and the manual pages ship gzip -9n compressed (lintian); the changelog's top entry
# must carry the project version, which packaging/tests/check_debs.sh verifies.
find_program(ZLH_GZIP gzip REQUIRED)
file(MAKE_DIRECTORY ${_zlh_pkg_bin})
foreach(_f debian/changelog man/zlh-agent.8 man/zlh-coordinator.8)
  get_filename_component(_n ${_f} NAME)
  set_property(DIRECTORY ${CMAKE_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               ${_zlh_pkg_src}/${_f})
  execute_process(COMMAND ${ZLH_GZIP} -9nc ${_zlh_pkg_src}/${_f}
                  OUTPUT_FILE ${_zlh_pkg_bin}/${_n}.gz COMMAND_ERROR_IS_FATAL ANY)
endforeach()

# zlh_deb_files(<component> <package> <config file>): the unit, the conffile and the docs of one
# package. The binaries are installed by their own directories (COMPONENT agent|coordinator).
function(zlh_deb_files component package config)
  install(FILES ${_zlh_pkg_src}/systemd/${package}.service
          DESTINATION lib/systemd/system COMPONENT ${component})
  install(FILES ${_zlh_pkg_src}/config/${config}
          DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/${package} COMPONENT ${component})
  install(FILES ${_zlh_pkg_src}/debian/copyright ${_zlh_pkg_bin}/changelog.gz
                ${CMAKE_SOURCE_DIR}/docs/configuration.md ${CMAKE_SOURCE_DIR}/docs/packaging.md
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${package} COMPONENT ${component})
  install(FILES ${_zlh_pkg_bin}/${package}.8.gz
          DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT ${component})

  string(TOUPPER ${component} c)
  set(d ${_zlh_pkg_src}/debian/${package})
  set(CPACK_DEBIAN_${c}_PACKAGE_NAME ${package} PARENT_SCOPE)
  set(CPACK_DEBIAN_${c}_FILE_NAME
      "${package}_${CPACK_PACKAGE_VERSION}_${CPACK_DEBIAN_PACKAGE_ARCHITECTURE}.deb" PARENT_SCOPE)
  set(CPACK_DEBIAN_${c}_PACKAGE_CONTROL_EXTRA
      "${d}/conffiles;${d}/postinst;${d}/prerm;${d}/postrm" PARENT_SCOPE)
endfunction()

execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE _zlh_deb_arch
                OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)

set(CPACK_PACKAGE_NAME zlh)
set(CPACK_PACKAGE_VENDOR "The zlh authors")
set(CPACK_PACKAGE_VERSION ${CMAKE_PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${ZLH_DEB_MAINTAINER}")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
set(CPACK_STRIP_FILES TRUE)
set(CPACK_THREADS 2)

set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL ${_zlh_deb_components})
set(CPACK_COMPONENTS_GROUPING IGNORE)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${ZLH_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${_zlh_deb_arch})
set(CPACK_DEBIAN_PACKAGE_SOURCE zlh)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

set(CPACK_DEBIAN_AGENT_DESCRIPTION "node agent of the zlh hosting platform
zlh runs Minecraft servers and hosted development environments on a fleet of
nodes. zlh-agent runs as root on each node: it dials out over one WebSocket to
a zlh-coordinator, runs the jobs it receives, supervises one zlh-shim per
instance so that games survive agent restarts, and serves read-only
Prometheus metrics. It never listens for control.")
set(CPACK_DEBIAN_COORDINATOR_DESCRIPTION "coordinator of the zlh hosting platform
zlh runs Minecraft servers and hosted development environments on a fleet of
nodes. zlh-coordinator serves the REST API, the browser console and the gateway
that node agents dial into, and stores users, nodes and instances in SQLite
or PostgreSQL.
It runs unprivileged as the system user zlh-coordinator.")
# postinst creates the service user with adduser.
set(CPACK_DEBIAN_COORDINATOR_PACKAGE_DEPENDS "adduser")

foreach(_c ${_zlh_deb_components})
  if(_c STREQUAL "agent")
    zlh_deb_files(agent zlh-agent agent.toml)
  else()
    zlh_deb_files(coordinator zlh-coordinator coordinator.toml)
    # Monitoring examples: Prometheus scrape config, alert rules, Grafana dashboard (docs/metrics.md).
    install(FILES ${_zlh_pkg_src}/monitoring/prometheus.yml ${_zlh_pkg_src}/monitoring/zlh-alerts.yml
                  ${_zlh_pkg_src}/monitoring/zlh-dashboard.json
            DESTINATION ${CMAKE_INSTALL_DATADIR}/zlh-coordinator/monitoring COMPONENT coordinator)
  endif()
endforeach()

include(CPack)
