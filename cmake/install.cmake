# Installation: the module libraries (static, position-independent), their headers, the shipped
# models, recipes and networks, the CLI, an exported CMake package (find_package(xbarkit)) and a
# pkg-config file (xbarkit.pc). Included at the end of the top-level CMakeLists.txt.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(xbarkit_modules GLOBAL PROPERTY XBARKIT_MODULES)

install(TARGETS ${xbarkit_modules} xbarkit EXPORT xbarkitTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS xbarkit_cli RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
if(TARGET xbarkit_train_cli)
  install(TARGETS xbarkit_train_cli RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
endif()
install(DIRECTORY "${PROJECT_SOURCE_DIR}/src/xbarkit" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        FILES_MATCHING PATTERN "*.hpp")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/models" "${PROJECT_SOURCE_DIR}/characterization"
                  "${PROJECT_SOURCE_DIR}/netlists"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/xbarkit")
install(EXPORT xbarkitTargets NAMESPACE xbarkit:: DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/xbarkit")
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/xbarkitConfig.cmake.in"
                              "${PROJECT_BINARY_DIR}/xbarkitConfig.cmake"
                              INSTALL_DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/xbarkit")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/xbarkitConfigVersion.cmake"
                                 COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/xbarkitConfig.cmake" "${PROJECT_BINARY_DIR}/xbarkitConfigVersion.cmake"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/xbarkit")

# pkg-config: static libraries in dependency order (a module before the modules it uses).
set(XBARKIT_PC_LIBS "")
foreach(m IN ITEMS imc characterize nn lut sc cbram mtj pcm circuit spice netlist core)
  if(TARGET xbarkit_${m})
    string(APPEND XBARKIT_PC_LIBS " -lxbarkit_${m}")
  endif()
endforeach()
if(TARGET xbarkit_sc AND XBARKIT_SC_USE_LIBMVEC)
  string(APPEND XBARKIT_PC_LIBS " -lmvec")  # glibc's vector math, for the sc module's AVX-512 streams
endif()
string(STRIP "${XBARKIT_PC_LIBS}" XBARKIT_PC_LIBS)
# "../.." for lib/pkgconfig, "../../.." for lib/x86_64-linux-gnu/pkgconfig
file(RELATIVE_PATH XBARKIT_PC_UP "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
configure_file("${PROJECT_SOURCE_DIR}/cmake/xbarkit.pc.in" "${PROJECT_BINARY_DIR}/xbarkit.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/xbarkit.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")

# A downstream project builds against the installed tree, with CMake and with pkg-config.
add_test(NAME "package: install, find_package and pkg-config consumers"
         COMMAND "${CMAKE_COMMAND}" -DBUILD_DIR=${PROJECT_BINARY_DIR} -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
                 -DWORK_DIR=${PROJECT_BINARY_DIR}/package-test -P "${PROJECT_SOURCE_DIR}/tests/package/test_package.cmake")
set_tests_properties("package: install, find_package and pkg-config consumers" PROPERTIES TIMEOUT 300)
