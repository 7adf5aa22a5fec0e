#!/usr/bin/env bash
# Install what the workflow needs into the current Python environment (a virtual environment):
#   ./install.sh        the workflow: Debian's Cortex-M4 toolchain, QEMU, Graphviz; the package
#                       with its TFLite extra
#   ./install.sh test   the same plus what the tests need: Slurm and munge for the cluster test,
#                       QEMU's user mode (Python on emulated Intel and AMD CPUs), pytest and the
#                       Slurm executor plugin
# Debian packages come from apt-get (as root, or through sudo); Python packages from pip.
set -euo pipefail
cd "$(dirname "$0")"

what=${1:-run}
debs=(gcc g++ make gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm graphviz)
extras=tflite
if [ "$what" = test ]; then
  debs+=(slurm-wlm munge qemu-user)
  extras=test
elif [ "$what" != run ]; then
  echo "usage: ./install.sh [run|test]" >&2
  exit 2
fi

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo=sudo; else
    echo "install.sh: need root or sudo to install Debian packages: ${missing[*]}" >&2
    exit 1
  fi
  echo "install.sh: apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# torch is pinned (==2.13.0) in pyproject.toml: a loose requirement would pull a multi-GB CUDA build.
# constraints.txt pins the versions that shape the numbers, so that every machine computes them
# with the same code.
python3 -m pip install --quiet --upgrade pip
python3 -m pip install --quiet -c constraints.txt -e ".[$extras]"
echo "install.sh: done ($what)"
