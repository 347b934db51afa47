#!/usr/bin/env bash
# Distributed training with torchrun:
#   tools/dist_train.sh CONFIG GPUS [train.py options]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
# Without GPUs, each of the GPUS processes runs on the CPU with the gloo backend.
# SSCL_TOOL names another tool to launch the same way (tools/dist_test.sh sets test.py).
set -e
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

PYTHONPATH="${ROOT}:${PYTHONPATH}" \
python -m torch.distributed.run \
    --nnodes="${NNODES}" \
    --node_rank="${NODE_RANK}" \
    --master_addr="${MASTER_ADDR}" \
    --nproc_per_node="${GPUS}" \
    --master_port="${PORT}" \
    "${ROOT}/tools/${SSCL_TOOL:-train.py}" \
    "${CONFIG}" \
    --launcher pytorch "${@:3}"
