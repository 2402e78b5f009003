# The plugin SDK: what `cmake --install` puts under its prefix, so a plugin
# builds outside this tree (docs/plugins.md):
#
#   include/ates/{plugin_api,protocol,storage,base}/  the headers a plugin includes
#   lib/libates_{base,protocol,storage}.so             the libraries they need
#   lib/cmake/ates/                               find_package(ates): the
#                                                 ates::plugin_api target and
#                                                 ates_add_plugin()
#
# The libraries are the shared ones the host runs with, not static copies:
# a plugin the host loads then binds to the host's own copy (one event
# registry, one set of failpoints), as the built-in plugins do.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(package_dir "${CMAKE_INSTALL_LIBDIR}/cmake/ates")
set_target_properties(ates_base PROPERTIES EXPORT_NAME base INSTALL_RPATH "$ORIGIN")
set_target_properties(ates_protocol PROPERTIES EXPORT_NAME protocol INSTALL_RPATH "$ORIGIN")
set_target_properties(ates_storage PROPERTIES EXPORT_NAME storage INSTALL_RPATH "$ORIGIN")
set_target_properties(ates_plugin_api PROPERTIES EXPORT_NAME plugin_api)
install(TARGETS ates_base ates_protocol ates_storage ates_plugin_api EXPORT atesTargets
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT sdk
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
foreach(dir protocol/base/include protocol/include storage/include server/include "${CMAKE_BINARY_DIR}/server/generated")
  install(DIRECTORY "${dir}/" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT sdk
          FILES_MATCHING PATTERN "*.hpp" PATTERN "plugin_api_closure.cpp" EXCLUDE)
endforeach()
install(EXPORT atesTargets NAMESPACE ates:: DESTINATION "${package_dir}" COMPONENT sdk)

configure_package_config_file(cmake/atesConfig.cmake.in "${CMAKE_BINARY_DIR}/sdk/atesConfig.cmake"
                              INSTALL_DESTINATION "${package_dir}")
# The package's version is the plugin API's: a plugin asks for the API it
# was written against, find_package(ates 3.0), and any 3.x of at least that
# minor version satisfies it.
write_basic_package_version_file("${CMAKE_BINARY_DIR}/sdk/atesConfigVersion.cmake"
                                 VERSION "${ATES_PLUGIN_API_VERSION}" COMPATIBILITY SameMajorVersion)
install(FILES "${CMAKE_BINARY_DIR}/sdk/atesConfig.cmake" "${CMAKE_BINARY_DIR}/sdk/atesConfigVersion.cmake"
              cmake/AtesPlugin.cmake
        DESTINATION "${package_dir}" COMPONENT sdk)
