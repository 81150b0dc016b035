# Installed files that belong to no program (owner: packages). Where each
# goes: cmake/install-dirs.cmake.

# The guest module's DKMS source tree, <VGPU_DKMS_SRCDIR>/vgpu-front-<version>/:
# the top-level Kbuild, frontend-kmod/'s sources and Kbuild, ring/vgpuif.h,
# and dkms.conf with PACKAGE_VERSION set to this version. `dkms add` takes
# the tree from there, builds it for each kernel whose headers are installed
# and again for every new kernel (AUTOINSTALL).
set(VGPU_DKMS_TREE "${VGPU_DKMS_SRCDIR}/vgpu-front-${PROJECT_VERSION}")
file(READ ${CMAKE_SOURCE_DIR}/frontend-kmod/dkms.conf vgpu_dkms_conf)
string(REGEX REPLACE "PACKAGE_VERSION=\"[^\"]*\"" "PACKAGE_VERSION=\"${PROJECT_VERSION}\""
       vgpu_dkms_conf "${vgpu_dkms_conf}")
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/dkms/dkms.conf CONTENT "${vgpu_dkms_conf}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_SOURCE_DIR}/frontend-kmod/dkms.conf)
install(FILES ${CMAKE_BINARY_DIR}/dkms/dkms.conf ${CMAKE_SOURCE_DIR}/Kbuild
        DESTINATION ${VGPU_DKMS_TREE} COMPONENT dkms)
# Sources only: a tree where `make module` ran also holds kbuild's outputs.
install(DIRECTORY ${CMAKE_SOURCE_DIR}/frontend-kmod/
        DESTINATION ${VGPU_DKMS_TREE}/frontend-kmod COMPONENT dkms
        FILES_MATCHING PATTERN "*.c" PATTERN "*.h" PATTERN "Kbuild"
        PATTERN "*.mod.c" EXCLUDE)
install(FILES ${CMAKE_SOURCE_DIR}/ring/vgpuif.h
        DESTINATION ${VGPU_DKMS_TREE}/ring COMPONENT dkms)

# /dev/vgpu_stub: group vgpu, mode 0660 (the module alone makes it 0666).
install(FILES ${CMAKE_SOURCE_DIR}/frontend-kmod/60-vgpu.rules
        DESTINATION ${VGPU_UDEV_RULESDIR} COMPONENT dkms)

# dom0's guide and the protocol beside the example config (the systemd
# unit's Documentation= points at operations.md there).
install(FILES ${CMAKE_SOURCE_DIR}/docs/operations.md ${CMAKE_SOURCE_DIR}/docs/protocol.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The guest libcuda.so.1 (guest/libcuda) lives in a folder the loader does
# not search by itself (VGPU_LIBCUDA_INSTALL_DIR). This snippet, installed
# beside it, names that folder for ldconfig: linked into /etc/ld.so.conf.d/
# under a name that sorts after the system's own x86_64-linux-gnu.conf
# (the vgpu-xen-libcuda package does it with update-alternatives), it makes
# the loader find vgpu-xen's libcuda.so.1 when no other is installed, while
# a real NVIDIA driver's in the system's library folders still comes first.
if(TARGET cuda)
  if(IS_ABSOLUTE "${VGPU_LIBCUDA_INSTALL_DIR}")
    set(vgpu_libcuda_dir "${VGPU_LIBCUDA_INSTALL_DIR}")
  else()
    set(vgpu_libcuda_dir "${CMAKE_INSTALL_PREFIX}/${VGPU_LIBCUDA_INSTALL_DIR}")
  endif()
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/libcuda/ld.so.conf
       CONTENT "# vgpu-xen's guest libcuda.so.1 (the vgpu-xen-libcuda package links this\n# file into /etc/ld.so.conf.d/ with update-alternatives)\n${vgpu_libcuda_dir}\n")
  install(FILES ${CMAKE_BINARY_DIR}/libcuda/ld.so.conf DESTINATION ${VGPU_LIBCUDA_INSTALL_DIR}
          COMPONENT guest)
endif()
