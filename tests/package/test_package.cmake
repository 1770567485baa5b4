# Installs the build into a scratch prefix, then builds the consumer project against it twice:
# with find_package(xbarkit) and with pkg-config's flags. Run by CTest:
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P test_package.cmake
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
run("${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}")
foreach(f lib/cmake/xbarkit/xbarkitConfig.cmake lib/pkgconfig/xbarkit.pc include/xbarkit/netlist/crossbar.hpp
          share/xbarkit/models/tech/7nm.toml bin/xbarkit)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
# The installed tree finds its models through XBARKIT_SOURCE_DIR (core/paths.hpp).
set(ENV{XBARKIT_SOURCE_DIR} "${prefix}/share/xbarkit")

run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/package/consumer" -B "${WORK_DIR}/cmake-build"
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
run("${CMAKE_COMMAND}" --build "${WORK_DIR}/cmake-build")
run("${WORK_DIR}/cmake-build/consumer")
set(cmake_out "${out}")

set(ENV{PKG_CONFIG_PATH} "${prefix}/lib/pkgconfig")
run(pkg-config --cflags --libs --static xbarkit)
string(STRIP "${out}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run(c++ -O1 "${SOURCE_DIR}/tests/package/consumer/main.cpp" -o "${WORK_DIR}/consumer-pc" ${flags})
run("${WORK_DIR}/consumer-pc")
if(NOT out STREQUAL cmake_out)
  message(FATAL_ERROR "pkg-config build printed\n${out}\nCMake build printed\n${cmake_out}")
endif()
string(REGEX MATCHALL "[0-9.]+e-0[45]" currents "${out}")
list(LENGTH currents n)
if(NOT n EQUAL 4)
  message(FATAL_ERROR "expected 4 column currents of 1e-5..1e-3 A, got:\n${out}")
endif()
message(STATUS "consumer (CMake and pkg-config) printed:\n${out}")
