# Helpers shared by every CMakeLists.txt of the project.

# vgpu_add_check_test(NAME SOURCES src... [LIBS lib...] [LABELS l...]
#                     [TIMEOUT s])
# A Check suite: built into <build>/tests, registered with ctest. Its exit code
# comes from srunner_ntests_failed. Exit code 77 means SKIP.
function(vgpu_add_check_test name)
  cmake_parse_arguments(A "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE vgpuif PkgConfig::CHECK Threads::Threads ${A_LIBS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT A_LABELS)
    set(A_LABELS unit)
  endif()
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${A_LABELS}" TIMEOUT ${A_TIMEOUT}
                       SKIP_RETURN_CODE 77
                       ENVIRONMENT "CK_DEFAULT_TIMEOUT=60")
endfunction()

# vgpu_add_test_program(NAME SOURCES src... [LIBS lib...]): a helper program
# used by tests (built into <build>/tests, not shipped in bin/).
function(vgpu_add_test_program name)
  cmake_parse_arguments(A "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE vgpuif Threads::Threads ${A_LIBS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
endfunction()
