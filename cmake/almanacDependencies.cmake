# The imported targets almanac's libraries link: found the same way when Almanac is built and
# when an application finds the installed package (almanacConfig.cmake includes this file).
# CAF 0.17.6 and cctz ship no CMake config, so they are found by hand (the Debian paths).
find_package(Threads REQUIRED)
find_package(cereal CONFIG REQUIRED)
find_package(nlohmann_json 3 CONFIG REQUIRED)
find_package(RocksDB 7 CONFIG REQUIRED)
# libpq (libpq-dev), for the PostgreSQL backend of the log.
find_package(PostgreSQL REQUIRED)

find_path(CCTZ_INCLUDE_DIR cctz/time_zone.h REQUIRED)
find_library(CCTZ_LIBRARY cctz REQUIRED)
if(NOT TARGET cctz::cctz)
  add_library(cctz::cctz SHARED IMPORTED)
  set_target_properties(cctz::cctz PROPERTIES IMPORTED_LOCATION ${CCTZ_LIBRARY}
                        INTERFACE_INCLUDE_DIRECTORIES ${CCTZ_INCLUDE_DIR})
endif()

find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
find_library(CAF_IO_LIBRARY caf_io)
# The middleman over TLS (the admin port's mutual TLS); part of libcaf-dev.
find_library(CAF_OPENSSL_LIBRARY caf_openssl)
if(NOT TARGET CAF::core)
  add_library(CAF::core SHARED IMPORTED)
  set_target_properties(CAF::core PROPERTIES IMPORTED_LOCATION ${CAF_CORE_LIBRARY}
                        INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR}
                        INTERFACE_LINK_LIBRARIES Threads::Threads)
  if(CAF_IO_LIBRARY)
    add_library(CAF::io SHARED IMPORTED)
    set_target_properties(CAF::io PROPERTIES IMPORTED_LOCATION ${CAF_IO_LIBRARY}
                          INTERFACE_LINK_LIBRARIES CAF::core)
  endif()
  if(CAF_IO_LIBRARY AND CAF_OPENSSL_LIBRARY)
    find_package(OpenSSL REQUIRED)
    add_library(CAF::openssl SHARED IMPORTED)
    set_target_properties(CAF::openssl PROPERTIES IMPORTED_LOCATION ${CAF_OPENSSL_LIBRARY}
                          INTERFACE_LINK_LIBRARIES "CAF::io;OpenSSL::SSL;OpenSSL::Crypto")
  endif()
endif()
