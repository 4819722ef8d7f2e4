#!/usr/bin/env bash
# jan-gpu-init (jan-gpu.service, as root): load nvidia-uvm and create /dev/nvidia0.., /dev/nvidiactl and
# /dev/nvidia-uvm before jan-server starts (it runs with NoNewPrivileges and a device allow-list, so the CUDA
# library cannot do this itself). Without an NVIDIA driver there is nothing to do.
set -uo pipefail

if ! command -v nvidia-smi >/dev/null && ! command -v nvidia-modprobe >/dev/null; then
  echo "jan-gpu: no NVIDIA driver installed; jan-server runs on the CPU"
  exit 0
fi
if command -v nvidia-modprobe >/dev/null; then
  nvidia-modprobe -u -c=0 || echo "jan-gpu: nvidia-modprobe failed (no GPU attached?)"
else
  modprobe nvidia-uvm || echo "jan-gpu: could not load nvidia-uvm"
fi
# nvidia-smi, run as root, creates the remaining nodes (one per GPU) and reports what is there.
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader ||
    echo "jan-gpu: nvidia-smi found no GPU; jan-server runs on the CPU"
fi
exit 0
