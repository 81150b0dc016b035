# Where `cmake --install` puts each kind of file (owner: packages).
#
# Programs, libraries, headers, docs and man pages follow GNUInstallDirs
# (CMAKE_INSTALL_BINDIR, SBINDIR, LIBDIR, INCLUDEDIR, DOCDIR, MANDIR), so
# that -DCMAKE_INSTALL_PREFIX=/usr gives the Debian layout (LIBDIR is then
# lib/<multiarch triplet>) and the default prefix /usr/local the FHS's
# place for locally built software:
#   SBINDIR  dom0's daemon and the tools only root can use (they write
#            XenStore): vgpu-backend, vgpu-attach, vgpu-detach, vgpu-list,
#            vgpu-xl-create, vgpu-exec-probe
#   BINDIR   vgpu-smi (dom0), vgpu and gpu_test (guest), vgpu-loopback-xl
#   LIBDIR   libvgpu.so.0 (guest); the guest libcuda.so.1 goes to a folder
#            of its own below it (VGPU_LIBCUDA_INSTALL_DIR, guest/libcuda)
#
# The system's own folders are not under GNUInstallDirs. Each is a cache
# variable, relative to the prefix unless absolute; debian/rules gives the
# absolute paths Debian 12's systemd and udev use (/lib/...):
#   VGPU_SYSTEMD_UNITDIR  vgpu-backend@.service
#   VGPU_UDEV_RULESDIR    60-vgpu.rules (/dev/vgpu_stub's group and mode)
#   VGPU_DKMS_SRCDIR      the module's DKMS source tree, as
#                         <dir>/vgpu-front-<version>/ (dkms looks in /usr/src)
include(GNUInstallDirs)

set(VGPU_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where vgpu-backend@.service is installed (relative to the prefix unless absolute)")
set(VGPU_UDEV_RULESDIR "lib/udev/rules.d" CACHE STRING
    "Where the udev rule for /dev/vgpu_stub is installed (relative to the prefix unless absolute)")
set(VGPU_DKMS_SRCDIR "src" CACHE STRING
    "Where the module's DKMS source tree vgpu-front-<version>/ is installed (relative to the prefix unless absolute)")
