# shellcheck shell=bash
# Source this (bash): finds the CUDA 13 run-time libraries that the CUDA builds
# (ci/build-cuda.sh) need on a lent GPU machine and puts their folders first on
# LD_LIBRARY_PATH.
#
#   source ci/cuda/env.sh
#
# The GPU machine has the driver (libcuda.so.1, libnvidia-ml.so.1) but no CUDA
# libraries on the loader's path: libcublas/libcublasLt/libcudart/libnvrtc .so.13
# and libcurand.so.10 come from PyTorch's pip packages (nvidia/cu13/lib). Looked
# for in python3's nvidia packages first, then the usual toolkit places, then a
# bounded search of /opt, /usr/local and /usr/lib.
#
# Sets and exports LD_LIBRARY_PATH (folders already on it are not added twice);
# sets JAN_CUDA_LIBPATH (the folders found, ':'-separated) and JAN_CUDA_MISSING
# (the libraries not found, space-separated). A library not found is a warning
# on stdout, prefixed with [$JAN_CUDA_ENV_TAG] (default: cuda-env). Works under
# `set -euo pipefail`; never exits the shell that sources it.

_jan_cuda_env() {
  local tag="${JAN_CUDA_ENV_TAG:-cuda-env}"
  local dirs=() d lib found f libpath=""
  while IFS= read -r d; do
    [[ -n "$d" ]] && dirs+=("$d")
  done < <(python3 -c 'import nvidia, os
for p in nvidia.__path__:
    print(os.path.join(p, "cu13", "lib"))' 2>/dev/null || true)
  dirs+=(/usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib)
  JAN_CUDA_MISSING=""
  for lib in libcublas.so.13 libcublasLt.so.13 libcudart.so.13 libcurand.so.10 libnvrtc.so.13; do
    found=""
    for d in "${dirs[@]}"; do
      if [[ -e "$d/$lib" ]]; then found="$d"; break; fi
    done
    if [[ -z "$found" ]]; then
      f="$(find /opt /usr/local /usr/lib -maxdepth 8 -name "$lib" -print -quit 2>/dev/null || true)"
      [[ -n "$f" ]] && found="$(dirname "$f")"
    fi
    if [[ -n "$found" ]]; then
      case ":$libpath:" in *":$found:"*) ;; *) libpath="${libpath:+$libpath:}$found" ;; esac
    else
      JAN_CUDA_MISSING="${JAN_CUDA_MISSING:+$JAN_CUDA_MISSING }$lib"
      printf '[%s] %s\n' "$tag" "warning: $lib not found (fine if the program does not need it)"
    fi
  done
  JAN_CUDA_LIBPATH="$libpath"
  # Prepend, without repeating a folder that is already on the path.
  local rest="${LD_LIBRARY_PATH:-}" kept="" p
  local IFS=':'
  for p in $rest; do
    [[ -z "$p" ]] && continue
    case ":$libpath:" in *":$p:"*) continue ;; esac
    kept="${kept:+$kept:}$p"
  done
  LD_LIBRARY_PATH="$libpath${kept:+${libpath:+:}$kept}"
  export LD_LIBRARY_PATH JAN_CUDA_LIBPATH JAN_CUDA_MISSING
}
_jan_cuda_env
unset -f _jan_cuda_env
