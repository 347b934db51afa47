#!/usr/bin/env bash
# Distributed evaluation with torchrun:
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node (see dist_train.sh).
set -e
SSCL_TOOL=test.py exec "$(dirname "$0")/dist_train.sh" "$1" "$3" "$2" "${@:4}"
