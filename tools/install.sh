#!/usr/bin/env bash
# Install sscl into the active Python environment.
#
#   bash tools/install.sh          # core: training, evaluation, tools (mmcv-lite, no compiler)
#   bash tools/install.sh --det    # + mmcv's compiled ops, mmdet and pycocotools (COCO transfer)
#
# Core: torch/torchvision (an installed pair inside requirements/runtime.txt's ranges is kept:
# pip is constrained to the installed versions), mmengine, mmcv-lite, tensorboard, the test
# deps, and sscl itself in editable mode.
# --det: mmcv 2.1.0 with its ops, built once from its sdist as a unity build
# (tools/build_mmcv_ops.py; the wheel kept in $SSCL_WHEEL_CACHE, keyed by torch version and
# CPU/CUDA), in place of mmcv-lite (both install the mmcv/ folder), then requirements/det.txt.
# Safe to run again: what is already satisfied is skipped.
#
# Environment:
#   SSCL_WHEEL_CACHE  where the built mmcv wheel is kept (default ~/.cache/sscl/wheels)
#   FORCE_CUDA=1      build mmcv's CUDA ops even without a visible GPU (mmcv's own rule)
#   MAX_JOBS          parallel compile jobs (default: number of cores)
set -euo pipefail

DET=0
for arg in "$@"; do
  case "${arg}" in
    --det) DET=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "install.sh: error: unknown argument ${arg} (known: --det)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python}"
MMCV_VERSION=2.1.0
CACHE="${SSCL_WHEEL_CACHE:-$HOME/.cache/sscl/wheels}"
STEP="start"
LOG="$(mktemp -t sscl-install.XXXXXX.log)"
KEEP="$(mktemp -t sscl-keep.XXXXXX.txt)"

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

step "check Python (>= 3.10, as torch's wheels)"
"${PY}" -c 'import sys; assert sys.version_info >= (3, 10), sys.version' >>"${LOG}" 2>&1
pip_q packaging

step "torch and torchvision: keep an installed pair inside requirements/runtime.txt's ranges"
"${PY}" "${ROOT}/tools/misc/keep_installed.py" "${ROOT}/requirements/runtime.txt" \
  torch torchvision --out "${KEEP}"

step "sscl (editable) with its runtime and test deps (requirements/runtime.txt, tests.txt)"
pip_q -c "${KEEP}" -e "${ROOT}[tests]"

have_mmcv_ops() {
  "${PY}" - <<EOF >>"${LOG}" 2>&1
import mmcv, mmcv.ops
assert mmcv.__version__ == '${MMCV_VERSION}', mmcv.__version__
EOF
}

if [ "${DET}" = 1 ]; then
  step "build tools (requirements/build.txt)"
  pip_q -c "${KEEP}" -r "${ROOT}/requirements/build.txt"

  # mmcv's rule for CUDA ops: a visible GPU or FORCE_CUDA=1. The cached wheel is keyed by it.
  WITH_CUDA="$("${PY}" -c 'import os, torch; print(int(torch.cuda.is_available() or os.getenv("FORCE_CUDA", "0") == "1"))')"
  TORCH_TAG="$("${PY}" -c 'import torch; print(torch.__version__.split("+")[0])')"
  FLAVOUR="torch${TORCH_TAG}-$([ "${WITH_CUDA}" = 1 ] && echo cuda || echo cpu)"
  WHEEL_DIR="${CACHE}/mmcv-${MMCV_VERSION}-${FLAVOUR}"

  if "${PY}" -m pip show mmcv >/dev/null 2>&1 && have_mmcv_ops; then
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
    step "swap mmcv-lite for the mmcv wheel in ${WHEEL_DIR}"
    if "${PY}" -m pip show mmcv-lite >/dev/null 2>&1; then
      "${PY}" -m pip uninstall -y mmcv-lite >>"${LOG}" 2>&1
    fi
    # Its requirements are mmcv-lite's, installed by the core step.
    pip_q --no-deps --force-reinstall "${WHEEL_DIR}"/mmcv-*.whl
    have_mmcv_ops
  fi

  step "mmdet and pycocotools (requirements/det.txt); sscl's metadata now names mmcv"
  pip_q -c "${KEEP}" -e "${ROOT}[det,tests]"
fi

step "check"
"${PY}" - <<EOF
import importlib.metadata as md
import torch, torchvision, mmcv, sscl
from sscl.utils import register_all_modules
register_all_modules()
line = (f'sscl {sscl.__version__} | torch {torch.__version__} | torchvision '
        f'{torchvision.__version__} | mmcv {mmcv.__version__}')
if ${DET}:
    import mmcv.ops, mmdet
    line += f' (with ops) | mmdet {mmdet.__version__}'
else:
    line += ' (' + ('with ops' if 'mmcv' in {d.metadata['Name'] for d in md.distributions()}
                    else 'mmcv-lite, no ops') + ')'
print(line)
EOF
rm -f "${LOG}" "${KEEP}"
trap - ERR
echo "sscl install OK"
