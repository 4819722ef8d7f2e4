#!/usr/bin/env bash
# Provisioning step 3 (as root): jan-server and what runs it.
#
# Expects the uploads in /tmp/jan-build: jan-server (the release binary) and the contents of packer/files/.
#   JAN_CLOUD   aws | azure | gcp: which metadata service jan-tls-init asks for the public IP
#   CPU_ONLY    true: a CPU build of jan-server is expected; false (default): the binary must be a CUDA build
#               (a CPU build on a GPU VM would leave the GPU idle, so that is an error unless asked for)
#
# Installs: /usr/local/bin/jan-server; the `jan` system user (no login shell, home /var/lib/jan); /var/lib/jan
# (Jan's data folder, jan:jan 0750); /etc/jan (root:jan 0750) with tls/ and the firewall rules; the helpers in
# /usr/local/lib/jan and jan-tls-install in /usr/local/sbin; the units jan-server, jan-tls, jan-gpu and
# jan-firewall (enabled). For a CUDA build also the CUDA 13.0 runtime libraries in /opt/jan/cuda/lib (cuBLAS,
# cudart, cuRAND, NVRTC: the same pinned wheels ci/build-cuda.sh links against, from PyPI). No credentials:
# /etc/jan/jan.env is written at launch by cloud-init.
set -euo pipefail
log() { printf '[jan-image] %s\n' "$*"; }

src=/tmp/jan-build
cloud="${JAN_CLOUD:?JAN_CLOUD must be aws, azure or gcp}"
cpu_only="${CPU_ONLY:-false}"
export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -o DPkg::Lock::Timeout=600 -y -qq "$@"; }

for f in jan-server jan-server.service jan-tls.service jan-gpu.service jan-firewall.service firewall.nft \
  jan-tls-init.sh jan-gpu-init.sh jan-check-env.sh jan-tls-install.sh README; do
  [[ -f "$src/$f" ]] || { log "error: $src/$f was not uploaded"; exit 1; }
done

# 1. The user and the folders.
if ! getent group jan >/dev/null; then groupadd --system jan; fi
if ! id jan >/dev/null 2>&1; then
  useradd --system --gid jan --home-dir /var/lib/jan --no-create-home --shell /usr/sbin/nologin \
    --comment "Jan server" jan
fi
install -d -m 0750 -o jan -g jan /var/lib/jan
install -d -m 0750 -o root -g jan /etc/jan /etc/jan/tls
install -d -m 0755 /usr/local/lib/jan

# 2. The binary.
install -m 0755 -o root -g root "$src/jan-server" /usr/local/bin/jan-server
cuda=false
if grep -q 'libcublas' <<<"$(ldd /usr/local/bin/jan-server)"; then cuda=true; fi
log "jan-server: $(stat -c %s /usr/local/bin/jan-server) bytes, CUDA build: $cuda"
if [[ "$cuda" == false && "$cpu_only" != true ]]; then
  log "error: /usr/local/bin/jan-server is a CPU build, but this image is for a GPU. Build it with CUDA"
  log "       (packer/README.md, 'The binary'), or pass -var cpu_only=true for a CPU-only image."
  exit 1
fi

# 3. The CUDA 13.0 runtime libraries (only what a CUDA build links; libcuda.so.1 comes with the driver).
if [[ "$cuda" == true ]]; then
  # Pinned like ci/build-cuda.sh: the libraries the binary was linked against.
  wheels=(nvidia-cuda-runtime==13.0.96 nvidia-cublas==13.1.0.3 nvidia-curand==10.4.0.35 nvidia-cuda-nvrtc==13.0.88)
  log "CUDA 13.0 runtime libraries into /opt/jan/cuda/lib (${wheels[*]})"
  if ! python3 -m pip --version >/dev/null 2>&1; then
    apt_get update
    apt_get install --no-install-recommends python3-pip >/dev/null
  fi
  work="$(mktemp -d)"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --dest "$work/wheels" "${wheels[@]}"
  for whl in "$work"/wheels/*.whl; do
    python3 -m zipfile -e "$whl" "$work/unpacked"
  done
  install -d -m 0755 /opt/jan/cuda/lib
  find "$work/unpacked" -path '*/lib/*.so*' -type f -exec install -m 0644 {} /opt/jan/cuda/lib/ \;
  rm -rf "$work"
  missing="$(LD_LIBRARY_PATH=/opt/jan/cuda/lib ldd /usr/local/bin/jan-server | grep 'not found' | grep -v 'libcuda\.so' || true)"
  if [[ -n "$missing" ]]; then
    log "error: libraries still missing:"
    printf '%s\n' "$missing"
    exit 1
  fi
  find /opt/jan/cuda/lib -type f -printf '[jan-image]   %f\n' | sort
fi

# 4. The helpers, the units, the firewall rules, the README.
install -m 0755 "$src/jan-tls-init.sh" /usr/local/lib/jan/jan-tls-init
install -m 0755 "$src/jan-gpu-init.sh" /usr/local/lib/jan/jan-gpu-init
install -m 0755 "$src/jan-check-env.sh" /usr/local/lib/jan/jan-check-env
install -m 0755 "$src/jan-tls-install.sh" /usr/local/sbin/jan-tls-install
printf '%s\n' "$cloud" >/usr/local/lib/jan/cloud
install -m 0640 -o root -g jan "$src/firewall.nft" /etc/jan/firewall.nft
install -m 0644 -o root -g root "$src/README" /etc/jan/README
for unit in jan-server.service jan-tls.service jan-gpu.service jan-firewall.service; do
  install -m 0644 "$src/$unit" "/etc/systemd/system/$unit"
done
systemctl daemon-reload
systemctl enable jan-firewall.service jan-gpu.service jan-tls.service jan-server.service
log "installed and enabled jan-server, jan-tls, jan-gpu and jan-firewall"
