#!/usr/bin/env bash
# Installs the software GPU adapters wgcnn runs on without a GPU: Mesa 25's lavapipe (Vulkan)
# and llvmpipe through EGL (GL), from Debian bookworm-backports (Debian 12's own Mesa 22.3 makes
# buffer loads 3-6x slower). The backports source is derived from the machine's own apt source,
# so no mirror is named here. Also glslang's validator, with which tests/shaders.rs checks the
# GLSL kernels in shaders/glsl/ without a GPU. Idempotent: does nothing when Mesa 25+ and the
# validator are already in place.
# Needs root (or sudo) on Debian 12; on other systems install Mesa >= 24 with your package manager.
set -euo pipefail

have_mesa() {
    dpkg-query -W -f='${Version}\n' mesa-vulkan-drivers libegl-mesa0 2>/dev/null | awk -F. '$1 < 24 { bad = 1 } END { exit bad || NR < 2 }'
}

if have_mesa && command -v vulkaninfo >/dev/null && command -v glslangValidator >/dev/null; then
    echo "software adapters: Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) already installed"
    exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
if . /etc/os-release && [ "${VERSION_CODENAME:-}" = bookworm ]; then
    sources=/etc/apt/sources.list.d/debian.sources
    if [ ! -f /etc/apt/sources.list.d/backports.sources ] && [ -f "$sources" ]; then
        sed -n '1,/^$/p' "$sources" | sed 's/^Suites:.*/Suites: bookworm-backports/' \
            | $sudo tee /etc/apt/sources.list.d/backports.sources >/dev/null
    fi
    $sudo apt-get update -q
    $sudo apt-get install -y -q -t bookworm-backports \
        mesa-vulkan-drivers libgl1-mesa-dri libegl-mesa0 libglx-mesa0 libegl1 libvulkan1 vulkan-tools glslang-tools
else
    $sudo apt-get update -q
    $sudo apt-get install -y -q mesa-vulkan-drivers libgl1-mesa-dri libegl-mesa0 libegl1 libvulkan1 vulkan-tools glslang-tools
fi
echo "software adapters installed: Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
