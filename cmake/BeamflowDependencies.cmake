# Every third-party package of the stack is found here and nowhere else, so the
# rest of the build names only the beamflow::dep:: targets defined below.

find_package(Threads REQUIRED)
find_package(MPI REQUIRED COMPONENTS C CXX)
find_package(OpenSSL REQUIRED)              # States.Hash, sha256 of inputs
find_package(nlohmann_json 3.10 REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
find_package(GTest REQUIRED)
find_package(PNG REQUIRED)
# xxHash has no CMake package on Debian; its header is all we need
# (XXH_INLINE_ALL), the library is linked for completeness.
find_path(BEAMFLOW_XXHASH_INCLUDE xxhash.h REQUIRED)
find_library(BEAMFLOW_XXHASH_LIBRARY xxhash REQUIRED)

# Parallel HDF5: the MPI build must win over a serial one that may also be installed.
set(HDF5_PREFER_PARALLEL ON)
find_package(HDF5 REQUIRED COMPONENTS C)
if(NOT HDF5_IS_PARALLEL)
  message(FATAL_ERROR "beamflow needs a parallel (MPI) HDF5; install libhdf5-openmpi-dev")
endif()
add_library(beamflow_dep_hdf5 INTERFACE)
target_include_directories(beamflow_dep_hdf5 SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
target_link_libraries(beamflow_dep_hdf5 INTERFACE ${HDF5_C_LIBRARIES} MPI::MPI_C)
target_compile_definitions(beamflow_dep_hdf5 INTERFACE ${HDF5_C_DEFINITIONS} H5_USE_110_API_DEFAULT=0)
add_library(beamflow::dep::hdf5 ALIAS beamflow_dep_hdf5)

find_package(PkgConfig REQUIRED)
# The dataset catalog: SQLite (with FTS5) embedded, libpq for PostgreSQL.
# Debian ships pkg-config files for both (libsqlite3-dev, libpq-dev);
# CMake's FindPostgreSQL also wants the server headers, which are not needed.
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET GLOBAL sqlite3)
add_library(beamflow::dep::sqlite ALIAS PkgConfig::SQLITE3)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET GLOBAL libpq)
add_library(beamflow::dep::pq ALIAS PkgConfig::LIBPQ)

# FFTW has no CMake package on Debian; pkg-config knows it.
pkg_check_modules(FFTW3 REQUIRED IMPORTED_TARGET fftw3 fftw3f)
add_library(beamflow::dep::fftw ALIAS PkgConfig::FFTW3)

# Kokkos. An upstream install exports Kokkos::kokkos with correct usage
# requirements. Debian's Trilinos build (3.4, Serial only) exports targets
# (Kokkos::kokkos, trilinos_kokkoscore) whose include directory does not
# exist, so we wrap them in a target that carries Kokkos_INCLUDE_DIRS
# (/usr/include/trilinos) whenever the exported one lacks Kokkos_Core.hpp.
find_package(Kokkos REQUIRED)
add_library(beamflow_dep_kokkos INTERFACE)
set(_kokkos_inc "")
if(TARGET Kokkos::kokkos)
  get_target_property(_kokkos_target_inc Kokkos::kokkos INTERFACE_INCLUDE_DIRECTORIES)
  foreach(_d IN LISTS _kokkos_target_inc)
    if(EXISTS "${_d}/Kokkos_Core.hpp")
      set(_kokkos_inc "${_d}")
    endif()
  endforeach()
  target_link_libraries(beamflow_dep_kokkos INTERFACE Kokkos::kokkos)
else()
  target_link_libraries(beamflow_dep_kokkos INTERFACE ${Kokkos_LIBRARIES})
endif()
if(NOT _kokkos_inc)
  get_filename_component(_kokkos_inc "${Kokkos_INCLUDE_DIRS}" ABSOLUTE)
  if(NOT EXISTS "${_kokkos_inc}/Kokkos_Core.hpp")
    message(FATAL_ERROR "Kokkos_Core.hpp not found under Kokkos_INCLUDE_DIRS=${_kokkos_inc}")
  endif()
  foreach(_lib IN ITEMS Kokkos::kokkos ${Kokkos_LIBRARIES})
    if(TARGET ${_lib})
      get_target_property(_aliased ${_lib} ALIASED_TARGET)
      if(_aliased)
        set(_lib ${_aliased})
      endif()
      set_property(TARGET ${_lib} PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${_kokkos_inc}")
    endif()
  endforeach()
  target_include_directories(beamflow_dep_kokkos SYSTEM INTERFACE "${_kokkos_inc}")
endif()
add_library(beamflow::dep::kokkos ALIAS beamflow_dep_kokkos)
message(STATUS "beamflow: Kokkos devices: ${Kokkos_DEVICES}, headers: ${_kokkos_inc}")

find_program(BEAMFLOW_MPIEXEC NAMES mpiexec mpirun HINTS ${MPIEXEC_EXECUTABLE})

# ONNX models are parsed with Debian's libonnx-dev (the protobuf classes of
# onnx-ml.proto; the kernels that run them are ours). Its exported onnx_proto
# target names protobuf::libprotobuf without finding it, so Protobuf first.
find_package(Protobuf REQUIRED)
find_package(ONNX REQUIRED)
add_library(beamflow_dep_onnx INTERFACE)
target_link_libraries(beamflow_dep_onnx INTERFACE onnx_proto protobuf::libprotobuf)
add_library(beamflow::dep::onnx ALIAS beamflow_dep_onnx)
# The per-operator conformance cases of libonnx-testdata (tests/onnx).
set(BEAMFLOW_ONNX_TESTDATA "/usr/share/libonnx-testdata/data/node" CACHE PATH
  "ONNX backend node test cases (Debian libonnx-testdata)")
