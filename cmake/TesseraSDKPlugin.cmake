# tessera_sdk_add_plugin(<name> SOURCES <src>... [LIBS <lib>...]
#                        [DESTINATION <dir>] [NO_INSTALL])
#
# Builds <name>.so, a tessera plugin module, the way the loader expects it:
#   - a MODULE library (dlopen()ed, never linked against) named <name>.so, no "lib" prefix;
#   - position-independent, compiled with hidden visibility, so the only exported
#     symbol is the entry point that TS_PLUGIN_DEFINE marks with TS_EXPORT;
#   - linked with -z defs: a plugin may use libc and its own libraries (LIBS) but no
#     symbol of the tessera executable, so an undefined symbol is a link error, not a
#     load-time surprise;
#   - using Tessera::sdk (include directory only; there is nothing to link).
# It is installed into DESTINATION, by default ${TESSERA_PLUGIN_INSTALL_DIR}, a cache
# variable that starts as the plugin directory of the tessera that shipped this SDK
# (TesseraSDK_PLUGIN_DIR). A plugin installed elsewhere is loaded with
# 'tessera -plugin-path DIR' or TESSERA_PLUGIN_PATH=DIR.
include_guard(GLOBAL)

if(NOT DEFINED TESSERA_PLUGIN_INSTALL_DIR)
  set(TESSERA_PLUGIN_INSTALL_DIR "${TesseraSDK_PLUGIN_DIR}" CACHE PATH
      "Where tessera_sdk_add_plugin() installs plugins")
endif()

function(tessera_sdk_add_plugin name)
  cmake_parse_arguments(P "NO_INSTALL" "DESTINATION" "SOURCES;LIBS" ${ARGN})
  if(NOT P_SOURCES)
    message(FATAL_ERROR "tessera_sdk_add_plugin(${name}): no SOURCES given")
  endif()
  if(P_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "tessera_sdk_add_plugin(${name}): unknown arguments ${P_UNPARSED_ARGUMENTS}")
  endif()
  add_library(${name} MODULE ${P_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    SUFFIX ".so"
    OUTPUT_NAME "${name}"
    POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_libraries(${name} PRIVATE Tessera::sdk ${P_LIBS})
  target_link_options(${name} PRIVATE -Wl,-z,defs)
  if(NOT P_NO_INSTALL)
    if(NOT P_DESTINATION)
      set(P_DESTINATION "${TESSERA_PLUGIN_INSTALL_DIR}")
    endif()
    install(TARGETS ${name} LIBRARY DESTINATION "${P_DESTINATION}")
  endif()
endfunction()
