# Helpers shared by every part of the tree.

# tessera_add_plugin(NAME SOURCES src... [LIBS lib...])
# Builds NAME.so as a loadable plugin: no "lib" prefix, hidden visibility, placed in the
# build tree's plugin directory, installed into the plugin directory.
function(tessera_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  add_library(${name} MODULE ${P_SOURCES})
  set_target_properties(${name} PROPERTIES PREFIX "" OUTPUT_NAME "${name}"
                        LIBRARY_OUTPUT_DIRECTORY "${TESSERA_BUILD_PLUGIN_DIR}"
                        C_VISIBILITY_PRESET hidden)
  target_link_libraries(${name} PRIVATE tessera_sdk ${P_LIBS})
  target_link_options(${name} PRIVATE -Wl,--no-undefined -Wl,-z,defs)
  install(TARGETS ${name} LIBRARY DESTINATION "${TESSERA_INSTALL_PLUGIN_DIR}")
endfunction()

# tessera_add_test(NAME SOURCES src... [LIBS lib...] [LABELS label...] [TIMEOUT s])
# A Check test program registered with CTest. Tests run with the build tree's plugins.
function(tessera_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
  target_link_libraries(${name} PRIVATE PkgConfig::CHECK ${T_LIBS})
  add_test(NAME ${name} COMMAND ${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "TESSERA_SOURCE_DIR=${CMAKE_SOURCE_DIR};TESSERA_BUILD_DIR=${CMAKE_BINARY_DIR};CK_DEFAULT_TIMEOUT=60")
endfunction()

# Tests that need a usable /dev/kvm carry the label needs-kvm, so `ctest -L needs-kvm`
# selects them; where /dev/kvm is missing, make check runs them inside an emulated KVM host
# (scripts/check-kvm.sh, scripts/nested-kvm.sh). They are named guest-kvm-*,
# guest-tessera-*, test_kvm_guests and boot-linux-tessera*; a directory that adds such tests
# calls this once, after its last add_test().
function(tessera_label_kvm_tests)
  get_property(tests DIRECTORY PROPERTY TESTS)
  foreach(t IN LISTS tests)
    if(t MATCHES "^(guest-kvm-.*|guest-tessera-.*|test_kvm_guests|boot-linux-tessera.*)$")
      set_property(TEST ${t} APPEND PROPERTY LABELS needs-kvm)
    endif()
  endforeach()
endfunction()
