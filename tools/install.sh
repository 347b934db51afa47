#!/usr/bin/env bash
# Install sscl and its pinned stack into the active Python environment.
#
#   bash tools/install.sh
#
# Steps: build tools -> torch/torchvision + runtime deps -> mmcv 2.1.0 with compiled ops
# (built once from its sdist, the wheel kept in $SSCL_WHEEL_CACHE) -> mmdet, pycocotools,
# test deps -> sscl itself in editable mode. Safe to run again: every step that is already
# satisfied is skipped, so a second run takes seconds.
#
# Environment:
#   SSCL_WHEEL_CACHE  where the built mmcv wheel is kept (default ~/.cache/sscl/wheels)
#   FORCE_CUDA=1      build mmcv's CUDA ops even without a visible GPU (mmcv's own rule)
#   MAX_JOBS          parallel compile jobs (default: number of cores)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python}"
MMCV_VERSION=2.1.0
CACHE="${SSCL_WHEEL_CACHE:-$HOME/.cache/sscl/wheels}"
STEP="start"
LOG="$(mktemp -t sscl-install.XXXXXX.log)"

fail() {
  echo "" >&2
  echo "sscl install FAILED at step: ${STEP}" >&2
  echo "  full log: ${LOG}" >&2
  tail -n 25 "${LOG}" >&2 || true
  exit 1
}
trap fail ERR

step() { STEP="$1"; echo "==> ${STEP}"; }
pip_q() { "${PY}" -m pip install --disable-pip-version-check "$@" >>"${LOG}" 2>&1; }

step "check Python (>= 3.9)"
"${PY}" -c 'import sys; assert sys.version_info >= (3, 9), sys.version' >>"${LOG}" 2>&1

step "build tools (requirements/build.txt)"
pip_q -r "${ROOT}/requirements/build.txt"

step "torch, torchvision, mmengine and runtime deps (requirements/runtime.txt)"
pip_q -r "${ROOT}/requirements/runtime.txt"

# mmcv's rule for CUDA ops: a visible GPU or FORCE_CUDA=1. The cached wheel is keyed by it.
WITH_CUDA="$("${PY}" -c 'import os, torch; print(int(torch.cuda.is_available() or os.getenv("FORCE_CUDA", "0") == "1"))')"
TORCH_TAG="$("${PY}" -c 'import torch; print(torch.__version__.split("+")[0])')"
FLAVOUR="torch${TORCH_TAG}-$([ "${WITH_CUDA}" = 1 ] && echo cuda || echo cpu)"
WHEEL_DIR="${CACHE}/mmcv-${MMCV_VERSION}-${FLAVOUR}"

have_mmcv_ops() {
  "${PY}" - <<EOF >>"${LOG}" 2>&1
import mmcv, mmcv.ops
assert mmcv.__version__ == '${MMCV_VERSION}', mmcv.__version__
EOF
}

if have_mmcv_ops; then
  step "mmcv ${MMCV_VERSION} with ops already installed"
else
  if ! ls "${WHEEL_DIR}"/mmcv-*.whl >/dev/null 2>&1; then
    step "download the mmcv ${MMCV_VERSION} sdist"
    SRC="$(mktemp -d -t sscl-mmcv.XXXXXX)"
    "${PY}" -m pip download --disable-pip-version-check --no-deps --no-binary :all: \
      --no-build-isolation "mmcv==${MMCV_VERSION}" -d "${SRC}" >>"${LOG}" 2>&1
    tar -xzf "${SRC}/mmcv-${MMCV_VERSION}.tar.gz" -C "${SRC}"

    step "patch mmcv's setup.py for the C++ standard torch ${TORCH_TAG} needs"
    NEED_CXX20="$("${PY}" -c 'import torch; v = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2]); print(int(v >= (2, 10)))')"
    if [ "${NEED_CXX20}" = 1 ]; then
      sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' \
        "${SRC}/mmcv-${MMCV_VERSION}/setup.py"
    fi

    step "compile mmcv ${MMCV_VERSION} ops (${FLAVOUR}); several minutes"
    mkdir -p "${WHEEL_DIR}"
    # Progress: one line per compiled source, from ninja's [i/n] counter.
    ( cd "${SRC}/mmcv-${MMCV_VERSION}" && MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        "${PY}" -m pip wheel -v --disable-pip-version-check --no-deps --no-build-isolation \
        . -w "${WHEEL_DIR}" 2>&1 ) | tee -a "${LOG}" \
      | sed -unE 's#^ *(\[[0-9]+/[0-9]+\]) .* -c ([^ ]*/)?(mmcv/ops/csrc/[^ ]+) .*#    \1 \3#p' || true
    ls "${WHEEL_DIR}"/mmcv-*.whl >/dev/null 2>&1
    rm -rf "${SRC}"
  fi
  step "install the mmcv wheel from ${WHEEL_DIR}"
  # mmcv-lite (the same package without ops) would share mmcv/'s files with the wheel.
  if "${PY}" -m pip show mmcv-lite >/dev/null 2>&1; then
    "${PY}" -m pip uninstall -y mmcv-lite >>"${LOG}" 2>&1
  fi
  pip_q --no-deps --force-reinstall "${WHEEL_DIR}"/mmcv-*.whl
  pip_q addict packaging pyyaml yapf opencv-python
  have_mmcv_ops
fi

step "mmdet, pycocotools and test deps (requirements/mminstall.txt, requirements/tests.txt)"
pip_q -r "${ROOT}/requirements/mminstall.txt" -r "${ROOT}/requirements/tests.txt"

step "sscl (editable)"
pip_q --no-deps --no-build-isolation -e "${ROOT}"

step "check: import sscl, mmcv.ops, mmdet"
"${PY}" -c "import sscl, mmcv.ops, mmdet; print('sscl', sscl.__version__, '| mmcv', mmcv.__version__, '| mmdet', mmdet.__version__)"
rm -f "${LOG}"
trap - ERR
echo "sscl install OK"
