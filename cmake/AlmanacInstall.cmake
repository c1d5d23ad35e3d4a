# What `cmake --install` puts in a prefix: the public headers (include/almanac/ only), the
# libraries an embedder links as almanac::almanac, the package files for
# find_package(almanac 0.2), and the three tools.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Every public header compiles alone with only include/ and the system's headers (CAF among
# them) on its path: the build fails the day one includes an internal header ("events/...").
file(GLOB almanac_public_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/almanac/*.hpp)
set(almanac_header_checks)
foreach(header IN LISTS almanac_public_headers)
  get_filename_component(name ${header} NAME_WE)
  set(check ${PROJECT_BINARY_DIR}/header_check/${name}.cpp)
  file(CONFIGURE OUTPUT ${check} CONTENT "#include <almanac/${name}.hpp>\n")
  list(APPEND almanac_header_checks ${check})
endforeach()
add_library(almanac_public_headers OBJECT ${almanac_header_checks})
target_include_directories(almanac_public_headers PRIVATE ${PROJECT_SOURCE_DIR}/include
  ${PROJECT_BINARY_DIR}/include ${CAF_INCLUDE_DIR})

set(almanac_libraries almanac_time almanac_schedule almanac_events almanac_store
  almanac_projections almanac_actors almanac_almanac)
foreach(lib IN LISTS almanac_libraries)
  string(REPLACE "almanac_" "" export_name ${lib})
  set_target_properties(${lib} PROPERTIES EXPORT_NAME ${export_name})
endforeach()
install(TARGETS ${almanac_libraries} EXPORT almanacTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/almanac DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")
install(FILES ${PROJECT_BINARY_DIR}/include/almanac/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/almanac)

set(almanac_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/almanac)
install(EXPORT almanacTargets NAMESPACE almanac:: DESTINATION ${almanac_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/almanacConfig.cmake.in
  ${PROJECT_BINARY_DIR}/almanacConfig.cmake INSTALL_DESTINATION ${almanac_cmake_dir})
# 0.x: a minor version may change the interface, so 0.2 accepts 0.2.z only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/almanacConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/almanacConfig.cmake
  ${PROJECT_BINARY_DIR}/almanacConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/almanacDependencies.cmake
  DESTINATION ${almanac_cmake_dir})

install(TARGETS almanac almanacd almanac-replay almanac-exec
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
