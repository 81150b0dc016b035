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
