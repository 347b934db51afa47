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

    step "compile mmcv ${MMCV_VERSION} ops (${FLAVOUR}) as a unity build; a few minutes"
    # Progress: one line per translation unit, with the time so far and an estimate.
    "${PY}" "${ROOT}/tools/build_mmcv_ops.py" "${SRC}/mmcv-${MMCV_VERSION}" \
      --wheel-dir "${WHEEL_DIR}" --jobs "${MAX_JOBS:-$(nproc)}" --log "${LOG}"
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
